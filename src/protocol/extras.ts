// The optional tail of PUB, REQ, RES, SEND, MSG and REPLY: `[type u32le] [header block] payload`,
// with the header block `varint count | count × (varint len | utf8 key | varint len | utf8 value)`.
// Imports only the rest of protocol/.

import { readU32, strictUtf8, textEncoder, writeU32 } from './bytes.js';
import { EXTRAS_FLAGS, Flag, hex2 } from './constants.js';
import { protocolError } from './errors.js';
import { readVarint, varintSize, writeVarint } from './varint.js';

/** Most header pairs in one block. */
export const MAX_HEADERS = 1024;

/** Optional parts of a message. */
export interface MessageExtras {
  /** Application-defined type (uint32). */
  type?: number | undefined;
  /** String pairs; key and value lengths are counted in UTF-8 bytes on the wire. */
  headers?: Record<string, string> | undefined;
}

/** Extras ready for a frame: the flag bits, the type, and the encoded header block. */
export interface EncodedExtras {
  readonly flags: number;
  readonly type: number;
  readonly headers: Uint8Array | null;
}

/** What a message without extras carries. */
export const NO_EXTRAS: EncodedExtras = { flags: 0, type: 0, headers: null };

/** Decoded tail of a message frame; `data` is a view into the frame. */
export interface DecodedTail {
  type: number | undefined;
  headers: Record<string, string> | undefined;
  data: Uint8Array;
}

/** Validates extras and encodes them once (type range, header strings). */
export function encodeExtras(extras: MessageExtras | undefined): EncodedExtras {
  if (extras === undefined || (extras.type === undefined && extras.headers === undefined))
    return NO_EXTRAS;
  let flags = 0;
  let type = 0;
  let headers: Uint8Array | null = null;
  if (extras.type !== undefined) {
    if (!Number.isInteger(extras.type) || extras.type < 0 || extras.type > 0xffffffff) {
      throw new RangeError('type must be an integer from 0 to 4294967295');
    }
    flags |= Flag.TYPE;
    type = extras.type;
  }
  if (extras.headers !== undefined) {
    flags |= Flag.HEADERS;
    headers = encodeHeaders(extras.headers);
  }
  return { flags, type, headers };
}

/** Encodes a header map into its wire block. */
export function encodeHeaders(headers: Record<string, string>): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  const keys = Object.keys(headers);
  if (keys.length > MAX_HEADERS) throw new RangeError(`more than ${MAX_HEADERS} headers`);
  for (const k of keys) {
    const v = headers[k];
    if (typeof v !== 'string') throw new TypeError(`header ${k} must be a string`);
    const kb = textEncoder.encode(k);
    const vb = textEncoder.encode(v);
    parts.push(kb, vb);
    size += varintSize(kb.length) + kb.length + varintSize(vb.length) + vb.length;
  }
  const out = new Uint8Array(varintSize(keys.length) + size);
  let off = writeVarint(out, 0, keys.length);
  for (const p of parts) {
    off = writeVarint(out, off, p.length);
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Returns the offset after a header block at `off`, checking its structure; throws if bad. */
export function skipHeaders(buf: Uint8Array, off: number, end: number): number {
  const pos = { next: 0 };
  const count = readVarint(buf, off, pos, end);
  if (count < 0 || count > MAX_HEADERS) throw protocolError('header block: bad pair count');
  off = pos.next;
  for (let i = 0; i < count * 2; i++) {
    const len = readVarint(buf, off, pos, end);
    if (len < 0 || pos.next + len > end) throw protocolError('header block runs past the frame');
    off = pos.next + len;
  }
  return off;
}

/** Decodes a header block at `off` whose structure skipHeaders checked. */
export function decodeHeaders(buf: Uint8Array, off: number): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  const pos = { next: 0 };
  const count = readVarint(buf, off, pos);
  off = pos.next;
  try {
    for (let i = 0; i < count; i++) {
      const kl = readVarint(buf, off, pos);
      const k = strictUtf8.decode(buf.subarray(pos.next, pos.next + kl));
      off = pos.next + kl;
      const vl = readVarint(buf, off, pos);
      out[k] = strictUtf8.decode(buf.subarray(pos.next, pos.next + vl));
      off = pos.next + vl;
    }
  } catch {
    throw protocolError('header block: invalid UTF-8');
  }
  return out;
}

/**
 * Checks the tail that starts at `off` under `flags` (only `allowed` bits may be set) and
 * returns the offset of the payload. Throws BUS_ERR_PROTOCOL on unknown flags or a short tail.
 */
export function checkTail(
  buf: Uint8Array,
  off: number,
  flags: number,
  allowed: number = EXTRAS_FLAGS,
  end = buf.length,
): number {
  if ((flags & ~allowed) !== 0) throw protocolError(`unknown flags ${hex2(flags)}`);
  if ((flags & Flag.TYPE) !== 0) {
    off += 4;
    if (off > end) throw protocolError('frame ends inside the type field');
  }
  if ((flags & Flag.HEADERS) !== 0) off = skipHeaders(buf, off, end);
  return off;
}

/** Decodes a tail at `buf[off..end)` that checkTail accepted, whose payload starts at `payload`. */
export function decodeTail(
  buf: Uint8Array,
  off: number,
  flags: number,
  payload: number,
  end: number,
): DecodedTail {
  let type: number | undefined;
  let headers: Record<string, string> | undefined;
  if ((flags & Flag.TYPE) !== 0) {
    type = readU32(buf, off);
    off += 4;
  }
  if ((flags & Flag.HEADERS) !== 0) headers = decodeHeaders(buf, off);
  return { type, headers, data: buf.subarray(payload, end) };
}

/** Bytes of a tail: type, headers and a payload of `payloadLen`. */
export function tailSize(extras: EncodedExtras, payloadLen: number): number {
  return (
    ((extras.flags & Flag.TYPE) !== 0 ? 4 : 0) +
    (extras.headers === null ? 0 : extras.headers.length) +
    payloadLen
  );
}

/** Writes a tail at `off`; returns the offset after it. */
export function writeTail(
  buf: Uint8Array,
  off: number,
  extras: EncodedExtras,
  payload: Uint8Array,
): number {
  if ((extras.flags & Flag.TYPE) !== 0) off = writeU32(buf, off, extras.type);
  if (extras.headers !== null) {
    buf.set(extras.headers, off);
    off += extras.headers.length;
  }
  buf.set(payload, off);
  return off + payload.length;
}
