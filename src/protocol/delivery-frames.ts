// The frames the daemon sends about messages: the envelope (built once per message, shared by
// every recipient), MSG, REPLY and GAP, encoded and decoded. docs/PROTOCOL.md sections 6.4,
// 6.8 and 6.13. Imports protocol/ only.

import { copyBytes, readU32, readU64, writeU32, writeU64 } from './bytes.js';
import {
  EXTRAS_FLAGS,
  Flag,
  MSG_FLAGS,
  Op,
  REPLY_STATUS_ERRORS,
  ReplyStatus,
} from './constants.js';
import { protocolError } from './errors.js';
import { checkTail, decodeTail, type DecodedTail } from './extras.js';
import { ASCII, PUB_FIXED, type SubjectReader } from './message-frames.js';
import { readVarint, varintSize, writeVarint } from './varint.js';

// ---------------------------------------------------------------------------------------------
// Envelope: 0 flags | 1 priority | 2 from u32 | 6 uid u32 | 10 pid u32 | 14 id u64 |
//           22 subjectLen | 23 subject | [token u64, if flags & REPLY] | tail

/** Offsets in an envelope. */
export const ENV_FROM = 2;
export const ENV_UID = 6;
export const ENV_PID = 10;
export const ENV_ID = 14;
export const ENV_SUBJECT_LEN = 22;

/** Bytes of an envelope before its subject. */
export const ENVELOPE_FIXED = 23;

/**
 * The uid or pid in an envelope or REPLY when the daemon could not read the sender's kernel
 * credentials (its native helper is missing, or a transport without SO_PEERCRED).
 */
export const UNKNOWN_ID = 0xffffffff;

/**
 * Who sent a message, as the daemon stamps it: the client id it gave the sender and the uid and
 * pid the kernel reported for the sender's connection (UNKNOWN_ID when it could not tell).
 */
export interface Sender {
  readonly id: number;
  readonly uid: number;
  readonly pid: number;
}

/** The daemon itself as a sender (`$SYS` events, timers): client id 0 and its own uid and pid. */
export function daemonSender(uid: number | undefined, pid: number | undefined): Sender {
  return { id: 0, uid: uid ?? UNKNOWN_ID, pid: pid ?? UNKNOWN_ID };
}

/** A uid or pid as read from a frame: undefined for UNKNOWN_ID. */
export function knownId(v: number): number | undefined {
  return v === UNKNOWN_ID ? undefined : v;
}

/**
 * The envelope of a PUB is the PUB body from its subjectLen byte on, with flags, priority, the
 * sender and id in front: this many bytes longer than the PUB body.
 */
export const PUB_ENVELOPE_EXTRA = ENVELOPE_FIXED - PUB_FIXED;

/** Bytes of an envelope with a subject of `subjectLen`, a token when flags has REPLY, and a tail. */
export function envelopeSize(subjectLen: number, flags: number, tailLen: number): number {
  return ENVELOPE_FIXED + subjectLen + ((flags & Flag.REPLY) !== 0 ? 8 : 0) + tailLen;
}

function writeHead(
  out: Uint8Array,
  off: number,
  flags: number,
  priority: number,
  from: Sender,
  id: number,
): void {
  out[off] = flags;
  out[off + 1] = priority;
  writeU32(out, off + ENV_FROM, from.id);
  writeU32(out, off + ENV_UID, from.uid);
  writeU32(out, off + ENV_PID, from.pid);
  writeU64(out, off + ENV_ID, id);
}

/**
 * Writes an envelope at `out[off..]`: `subject` and `tail` are copied; `token` is written when
 * flags has REPLY. Returns the offset after it.
 */
export function writeEnvelope(
  out: Uint8Array,
  off: number,
  flags: number,
  priority: number,
  from: Sender,
  id: number,
  subject: Uint8Array,
  token: number,
  tail: Uint8Array,
): number {
  writeHead(out, off, flags, priority, from, id);
  out[off + ENV_SUBJECT_LEN] = subject.length;
  off += ENVELOPE_FIXED;
  out.set(subject, off);
  off += subject.length;
  if ((flags & Flag.REPLY) !== 0) off = writeU64(out, off, token);
  out.set(tail, off);
  return off + tail.length;
}

/**
 * Writes the envelope of the PUB body `pub[start..end)` at `out[off..]` (PUB_ENVELOPE_EXTRA
 * bytes longer than the body): one copy of the PUB's subject and tail.
 */
export function writePubEnvelope(
  out: Uint8Array,
  off: number,
  from: Sender,
  id: number,
  pub: Uint8Array,
  start: number,
  end: number,
): void {
  writeHead(out, off, pub[start + 1]!, pub[start + 2]!, from, id);
  copyBytes(out, off + ENV_SUBJECT_LEN, pub, start + PUB_FIXED - 1, end);
}

// ---------------------------------------------------------------------------------------------
// MSG: 0 op 0x11 | 1 sid varint | envelope

/** Bytes of a whole MSG frame carrying an envelope of `envLen` for subscription `sid`. */
export function msgFrameSize(sid: number, envLen: number): number {
  const body = 1 + varintSize(sid) + envLen;
  return varintSize(body) + body;
}

/** Writes `varint(length) | 0x11 | varint(sid)` at `off`; the envelope goes at the returned offset. */
export function writeMsgHead(out: Uint8Array, off: number, sid: number, envLen: number): number {
  off = writeVarint(out, off, 1 + varintSize(sid) + envLen);
  out[off++] = Op.MSG;
  return writeVarint(out, off, sid);
}

/** A whole MSG frame. */
export function encodeMsg(sid: number, envelope: Uint8Array): Uint8Array {
  const buf = new Uint8Array(msgFrameSize(sid, envelope.length));
  buf.set(envelope, writeMsgHead(buf, 0, sid, envelope.length));
  return buf;
}

/** Fields of a decoded MSG frame; data is a view into the frame. */
export interface MsgFields extends DecodedTail {
  sid: number;
  flags: number;
  priority: number;
  /** The sender's client id (0: the daemon). */
  from: number;
  /** The sender's uid and pid as the kernel reported them; undefined when the daemon could not tell. */
  uid: number | undefined;
  pid: number | undefined;
  id: number;
  subject: string;
  /** The reply token of a request (flags & REPLY), else 0. */
  token: number;
}

/** Decodes a MSG body. Throws BUS_ERR_PROTOCOL if it is malformed. */
export function decodeMsg(body: Uint8Array, subjects: SubjectReader = ASCII): MsgFields {
  return decodeMsgAt(body, 0, body.length, subjects);
}

/** decodeMsg of the body at `buf[start..end)`, without a view of the whole body. */
export function decodeMsgAt(
  buf: Uint8Array,
  start: number,
  end: number,
  subjects: SubjectReader = ASCII,
): MsgFields {
  let sid = buf[start + 1] ?? 0x80;
  let off = start + 2;
  if (sid >= 0x80 || off > end) {
    const pos = { next: 0 };
    sid = readVarint(buf, start + 1, pos, end);
    if (sid < 0) throw protocolError('MSG: truncated sid');
    off = pos.next;
  }
  if (off + ENVELOPE_FIXED > end) throw protocolError('MSG: truncated envelope');
  const flags = buf[off]!;
  const priority = buf[off + 1]!;
  const from = readU32(buf, off + ENV_FROM);
  const uid = knownId(readU32(buf, off + ENV_UID));
  const pid = knownId(readU32(buf, off + ENV_PID));
  const id = readU64(buf, off + ENV_ID);
  const slen = buf[off + ENV_SUBJECT_LEN]!;
  off += ENVELOPE_FIXED;
  if (off + slen > end) throw protocolError('MSG: truncated subject');
  const subject = slen === 0 ? '' : subjects.get(buf, off, off + slen);
  off += slen;
  let token = 0;
  if ((flags & Flag.REPLY) !== 0) {
    if (off + 8 > end) throw protocolError('MSG: truncated reply token');
    token = readU64(buf, off);
    off += 8;
  }
  // One object shape for every message (type, headers, data always present).
  if (flags === 0) {
    const data = buf.subarray(off, end);
    return {
      sid,
      flags,
      priority,
      from,
      uid,
      pid,
      id,
      subject,
      token,
      type: undefined,
      headers: undefined,
      data,
    };
  }
  const t = decodeTail(buf, off, flags, checkTail(buf, off, flags, MSG_FLAGS, end), end);
  return {
    sid,
    flags,
    priority,
    from,
    uid,
    pid,
    id,
    subject,
    token,
    type: t.type,
    headers: t.headers,
    data: t.data,
  };
}

// ---------------------------------------------------------------------------------------------
// REPLY: 0 op 0x15 | 1 reqId u32 | 5 status | 6 flags | 7 from u32 | 11 uid u32 | 15 pid u32 |
//        19 tail

const REPLY_FIXED = 19;

/** A whole REPLY frame around a tail (`[type][headers]payload`) copied as-is. */
export function encodeReply(
  reqId: number,
  status: number,
  flags: number,
  from: Sender,
  tail: Uint8Array,
): Uint8Array {
  const body = REPLY_FIXED + tail.length;
  const buf = new Uint8Array(varintSize(body) + body);
  let off = writeVarint(buf, 0, body);
  buf[off++] = Op.REPLY;
  off = writeU32(buf, off, reqId);
  buf[off++] = status;
  buf[off++] = flags;
  off = writeU32(buf, off, from.id);
  off = writeU32(buf, off, from.uid);
  off = writeU32(buf, off, from.pid);
  buf.set(tail, off);
  return buf;
}

/** Fields of a decoded REPLY frame; data is a view into the frame. */
export interface ReplyFields extends DecodedTail {
  reqId: number;
  status: number;
  /** The responder's client id, uid and pid (0 and the daemon's own when no responder answered). */
  from: number;
  uid: number | undefined;
  pid: number | undefined;
}

export function decodeReply(body: Uint8Array): ReplyFields {
  if (body.length < REPLY_FIXED) throw protocolError('REPLY: truncated');
  const status = body[5]!;
  if (status !== ReplyStatus.OK && REPLY_STATUS_ERRORS[status] === undefined)
    throw protocolError(`REPLY: unknown status ${status}`);
  const flags = body[6]!;
  const payload = checkTail(body, REPLY_FIXED, flags, EXTRAS_FLAGS);
  return {
    reqId: readU32(body, 1),
    status,
    from: readU32(body, 7),
    uid: knownId(readU32(body, 11)),
    pid: knownId(readU32(body, 15)),
    ...decodeTail(body, REPLY_FIXED, flags, payload, body.length),
  };
}

// ---------------------------------------------------------------------------------------------
// GAP: 0 op 0x40 | 1 sid varint | lost varint | firstId u64 | lastId u64

export interface GapFields {
  sid: number;
  lost: number;
  firstId: number;
  lastId: number;
}

export function encodeGap(sid: number, lost: number, firstId: number, lastId: number): Uint8Array {
  const body = 1 + varintSize(sid) + varintSize(lost) + 16;
  const buf = new Uint8Array(varintSize(body) + body);
  let off = writeVarint(buf, 0, body);
  buf[off++] = Op.GAP;
  off = writeVarint(buf, off, sid);
  off = writeVarint(buf, off, lost);
  off = writeU64(buf, off, firstId);
  writeU64(buf, off, lastId);
  return buf;
}

export function decodeGap(body: Uint8Array): GapFields {
  const pos = { next: 0 };
  const sid = readVarint(body, 1, pos);
  if (sid < 0) throw protocolError('GAP: truncated');
  const lost = readVarint(body, pos.next, pos);
  if (lost < 0 || pos.next + 16 !== body.length) throw protocolError('GAP: truncated');
  return { sid, lost, firstId: readU64(body, pos.next), lastId: readU64(body, pos.next + 8) };
}
