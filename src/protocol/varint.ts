// Unsigned LEB128 varints, the length prefix of every frame (the framing of Psiphon's uds-ipc),
// also used for sids and header lengths. Values are JavaScript numbers up to 2^53 - 1; only the
// shortest encoding is accepted. Imports only errors.

import { protocolError } from './errors.js';

/** Bytes needed to encode `n` (a non-negative safe integer). */
export function varintSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  let size = 4;
  let v = Math.floor(n / 0x10000000);
  while (v > 0) {
    size++;
    v = Math.floor(v / 128);
  }
  return size;
}

/** Writes `n` at `buf[off]` and returns the offset after it. */
export function writeVarint(buf: Uint8Array, off: number, n: number): number {
  while (n >= 0x80) {
    buf[off++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[off++] = n;
  return off;
}

/**
 * Reads a varint at `buf[off]`. Returns the value and sets `out.next` to the offset after it,
 * or returns -1 when `end` comes inside the varint. More than 8 bytes reads as
 * Number.MAX_SAFE_INTEGER (callers bound the value). Throws BUS_ERR_PROTOCOL for a non-minimal
 * encoding (a last byte of 0 after the first).
 */
export function readVarint(
  buf: Uint8Array,
  off: number,
  out: { next: number },
  end = buf.length,
): number {
  let value = 0;
  let mul = 1;
  for (let i = off; i < end; i++) {
    const b = buf[i]!;
    value += (b & 0x7f) * mul;
    if (b < 0x80) {
      if (b === 0 && i > off) throw protocolError('varint not in its shortest form');
      out.next = i + 1;
      return value;
    }
    mul *= 128;
    if (mul > 2 ** 49) {
      // More than 8 bytes: no value we accept needs that many; report as too large.
      out.next = i + 1;
      return Number.MAX_SAFE_INTEGER;
    }
  }
  return -1;
}
