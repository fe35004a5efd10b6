// The message frames a client sends: PUB, REQ, RES and SEND, encoded and decoded. Offsets in
// the comments are into the body (op byte = 0); docs/PROTOCOL.md section 6. Imports protocol/ only.

import { readAscii, readU32, readU64, writeAscii, writeU32, writeU64 } from './bytes.js';
import { Op, ResStatus } from './constants.js';
import { protocolError } from './errors.js';
import {
  checkTail,
  decodeTail,
  encodeExtras,
  tailSize,
  writeTail,
  type DecodedTail,
  type EncodedExtras,
  type MessageExtras,
} from './extras.js';
import { varintSize, writeVarint } from './varint.js';

/** Turns subject bytes into a string; a SubjectCache does it without allocating for hot subjects. */
export interface SubjectReader {
  get(buf: Uint8Array, start: number, end: number): string;
}

/** Reads subjects with a fresh string each time. */
export const ASCII: SubjectReader = { get: readAscii };

/** Fixed bytes of each body before its subject or tail. */
export const PUB_FIXED = 4;
export const REQ_FIXED = 12;
export const RES_FIXED = 11;
export const SEND_FIXED = 7;

function frameBuffer(body: number): { buf: Uint8Array; off: number } {
  const buf = new Uint8Array(varintSize(body) + body);
  return { buf, off: writeVarint(buf, 0, body) };
}

// ---------------------------------------------------------------------------------------------
// PUB: 0 op 0x10 | 1 flags | 2 priority | 3 subjectLen | 4 subject | tail

/** Bytes of a whole PUB frame, length prefix included. */
export function pubFrameSize(subject: string, payloadLen: number, extras: EncodedExtras): number {
  const body = PUB_FIXED + subject.length + tailSize(extras, payloadLen);
  return varintSize(body) + body;
}

/** Writes a whole PUB frame at `off` (the subject must be checked ASCII); returns the end. */
export function writePub(
  buf: Uint8Array,
  off: number,
  subject: string,
  payload: Uint8Array,
  priority: number,
  extras: EncodedExtras,
): number {
  const body = PUB_FIXED + subject.length + tailSize(extras, payload.length);
  off = writeVarint(buf, off, body);
  buf[off] = Op.PUB;
  buf[off + 1] = extras.flags;
  buf[off + 2] = priority;
  buf[off + 3] = subject.length;
  off = writeAscii(buf, off + 4, subject);
  return writeTail(buf, off, extras, payload);
}

/** A whole PUB frame. */
export function encodePub(
  subject: string,
  payload: Uint8Array,
  priority = 0,
  extras?: MessageExtras,
): Uint8Array {
  const e = encodeExtras(extras);
  const buf = new Uint8Array(pubFrameSize(subject, payload.length, e));
  writePub(buf, 0, subject, payload, priority, e);
  return buf;
}

/**
 * Where the fields of a PUB body lie, filled by readPub. The daemon keeps one per connection
 * and reuses it for every PUB (the hot path allocates nothing per message).
 */
export class PubLayout {
  flags = 0;
  priority = 0;
  subjectStart = 0;
  subjectEnd = 0;
  /** Offset of the tail (type, headers, payload). */
  tailStart = 0;
  /** Offset of the payload. */
  payloadStart = 0;
}

/** Reads and checks the PUB body at `buf[start..end)` into `into`; throws BUS_ERR_PROTOCOL. */
export function readPub(buf: Uint8Array, start: number, end: number, into: PubLayout): void {
  if (end - start < PUB_FIXED) throw protocolError('PUB: truncated');
  const subjectStart = start + PUB_FIXED;
  const subjectEnd = subjectStart + buf[start + 3]!;
  if (subjectEnd > end) throw protocolError('PUB: truncated subject');
  const flags = buf[start + 1]!;
  into.flags = flags;
  into.priority = buf[start + 2]!;
  into.subjectStart = subjectStart;
  into.subjectEnd = subjectEnd;
  into.tailStart = subjectEnd;
  into.payloadStart = flags === 0 ? subjectEnd : checkTail(buf, subjectEnd, flags, undefined, end);
}

/** A decoded PUB. */
export interface PubFields extends DecodedTail {
  flags: number;
  priority: number;
  subject: string;
}

export function decodePub(body: Uint8Array): PubFields {
  const p = new PubLayout();
  readPub(body, 0, body.length, p);
  return {
    flags: p.flags,
    priority: p.priority,
    subject: readAscii(body, p.subjectStart, p.subjectEnd),
    ...decodeTail(body, p.tailStart, p.flags, p.payloadStart, body.length),
  };
}

// ---------------------------------------------------------------------------------------------
// REQ: 0 op 0x12 | 1 flags | 2 priority | 3 reqId u32 | 7 timeoutMs u32 | 11 subjectLen |
//      12 subject | tail

export function encodeReq(
  reqId: number,
  timeoutMs: number,
  subject: string,
  payload: Uint8Array,
  priority = 0,
  extras?: MessageExtras,
): Uint8Array {
  const e = encodeExtras(extras);
  const { buf, off } = frameBuffer(REQ_FIXED + subject.length + tailSize(e, payload.length));
  buf[off] = Op.REQ;
  buf[off + 1] = e.flags;
  buf[off + 2] = priority;
  writeU32(buf, off + 3, reqId);
  writeU32(buf, off + 7, timeoutMs);
  buf[off + 11] = subject.length;
  writeTail(buf, writeAscii(buf, off + 12, subject), e, payload);
  return buf;
}

/** A REQ body: fixed fields, the subject, and where its tail and payload start. */
export interface ReqFields {
  flags: number;
  priority: number;
  reqId: number;
  timeoutMs: number;
  subject: string;
  subjectStart: number;
  subjectEnd: number;
  tailStart: number;
  payloadStart: number;
}

export function decodeReq(body: Uint8Array, subjects: SubjectReader = ASCII): ReqFields {
  if (body.length < REQ_FIXED) throw protocolError('REQ: truncated');
  const subjectEnd = REQ_FIXED + body[11]!;
  if (subjectEnd > body.length) throw protocolError('REQ: truncated subject');
  const flags = body[1]!;
  return {
    flags,
    priority: body[2]!,
    reqId: readU32(body, 3),
    timeoutMs: readU32(body, 7),
    subject: subjects.get(body, REQ_FIXED, subjectEnd),
    subjectStart: REQ_FIXED,
    subjectEnd,
    tailStart: subjectEnd,
    payloadStart: checkTail(body, subjectEnd, flags),
  };
}

// ---------------------------------------------------------------------------------------------
// RES: 0 op 0x13 | 1 flags | 2 status | 3 token u64 | 11 tail

export function encodeRes(
  token: number,
  status: number,
  payload: Uint8Array,
  extras?: MessageExtras,
): Uint8Array {
  const e = encodeExtras(extras);
  const { buf, off } = frameBuffer(RES_FIXED + tailSize(e, payload.length));
  buf[off] = Op.RES;
  buf[off + 1] = e.flags;
  buf[off + 2] = status;
  writeU64(buf, off + 3, token);
  writeTail(buf, off + RES_FIXED, e, payload);
  return buf;
}

export interface ResFields {
  flags: number;
  status: number;
  token: number;
  /** Always RES_FIXED: the tail follows the token. */
  tailStart: number;
  payloadStart: number;
}

export function decodeRes(body: Uint8Array): ResFields {
  if (body.length < RES_FIXED) throw protocolError('RES: truncated');
  const status = body[2]!;
  if (status !== ResStatus.OK && status !== ResStatus.ERROR)
    throw protocolError(`RES: unknown status ${status}`);
  const flags = body[1]!;
  return {
    flags,
    status,
    token: readU64(body, 3),
    tailStart: RES_FIXED,
    payloadStart: checkTail(body, RES_FIXED, flags),
  };
}

// ---------------------------------------------------------------------------------------------
// SEND: 0 op 0x14 | 1 flags | 2 priority | 3 to u32 (0 = broadcast) | 7 tail

export function encodeSend(
  to: number,
  payload: Uint8Array,
  priority = 0,
  extras?: MessageExtras,
): Uint8Array {
  const e = encodeExtras(extras);
  const { buf, off } = frameBuffer(SEND_FIXED + tailSize(e, payload.length));
  buf[off] = Op.SEND;
  buf[off + 1] = e.flags;
  buf[off + 2] = priority;
  writeU32(buf, off + 3, to);
  writeTail(buf, off + SEND_FIXED, e, payload);
  return buf;
}

export interface SendFields {
  flags: number;
  priority: number;
  to: number;
  /** Always SEND_FIXED. */
  tailStart: number;
  payloadStart: number;
}

export function decodeSend(body: Uint8Array): SendFields {
  if (body.length < SEND_FIXED) throw protocolError('SEND: truncated');
  const flags = body[1]!;
  return {
    flags,
    priority: body[2]!,
    to: readU32(body, 3),
    tailStart: SEND_FIXED,
    payloadStart: checkTail(body, SEND_FIXED, flags),
  };
}

/** The decoded tail (type, headers, payload) of a REQ, RES or SEND. */
export function messageTail(
  body: Uint8Array,
  f: { flags: number; tailStart: number; payloadStart: number },
): DecodedTail {
  return decodeTail(body, f.tailStart, f.flags, f.payloadStart, body.length);
}
