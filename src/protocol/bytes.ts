// Fixed-width little-endian integers, ASCII strings and byte copies on Uint8Arrays: the
// primitives of every binary layout, and the shared UTF-8 codecs. Imports nothing.

export const textEncoder = new TextEncoder();

/** A UTF-8 decoder that throws on invalid input; stateless without `{ stream: true }`, so shared. */
export const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** True when `bytes` are valid UTF-8. */
export function isUtf8(bytes: Uint8Array): boolean {
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Writes a uint32 little-endian at `off`; returns the offset after it. */
export function writeU32(buf: Uint8Array, off: number, v: number): number {
  buf[off] = v;
  buf[off + 1] = v >>> 8;
  buf[off + 2] = v >>> 16;
  buf[off + 3] = v >>> 24;
  return off + 4;
}

export function readU32(buf: Uint8Array, off: number): number {
  return (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16)) + buf[off + 3]! * 0x1000000;
}

/** Writes a non-negative safe integer as uint64 little-endian. */
export function writeU64(buf: Uint8Array, off: number, v: number): number {
  writeU32(buf, off, v >>> 0);
  return writeU32(buf, off + 4, Math.floor(v / 0x100000000));
}

/** Reads a uint64 little-endian; values above 2^53 - 1 lose precision (ids never get there). */
export function readU64(buf: Uint8Array, off: number): number {
  return readU32(buf, off) + readU32(buf, off + 4) * 0x100000000;
}

/** Writes an ASCII string (subjects are printable ASCII); returns the offset after it. */
export function writeAscii(buf: Uint8Array, off: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[off + i] = s.charCodeAt(i);
  return off + s.length;
}

/** The string of ASCII bytes buf[start..end). */
export function readAscii(buf: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]!);
  return s;
}

/**
 * Copies src[start..end) to dst[at..]. Up to 24 bytes a loop beats subarray + set (measured:
 * 12 ns for 8 bytes by loop, 38 ns for any size up to 96 by subarray + set, 79 ns for 64 by
 * loop; bench/micro); copy a whole array with dst.set(src, at) (about 15 ns).
 */
export function copyBytes(
  dst: Uint8Array,
  at: number,
  src: Uint8Array,
  start: number,
  end: number,
): void {
  if (end - start > 24) {
    dst.set(src.subarray(start, end), at);
    return;
  }
  for (let i = start; i < end; i++) dst[at++] = src[i]!;
}

/** Encodes a string payload as UTF-8; bytes pass through. */
export function toBytes(data: Uint8Array | string): Uint8Array {
  if (typeof data === 'string') return textEncoder.encode(data);
  if (data instanceof Uint8Array) return data;
  throw new TypeError('data must be a Uint8Array or a string');
}
