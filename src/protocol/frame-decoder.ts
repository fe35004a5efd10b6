// Sans-IO frame decoder: varint length + body, from any chunking of the byte stream.
// Bodies are views of the input (copy what you keep); a frame split across chunks is assembled
// in one buffer sized by its length, which is checked before allocation. Imports only errors.

import { BusError, ErrorCode } from './errors.js';

/** Receives each complete frame body. The view is valid only during the call. */
export type FrameHandler = (body: Uint8Array) => void;

/** Receives each complete frame body as `buf[start..end)`, without a view made per frame. */
export type RangeHandler = (buf: Uint8Array, start: number, end: number) => void;

/** Incremental decoder for length-prefixed frames; `push` throws a BusError on bad input. */
export class FrameDecoder {
  /** Largest body accepted, in bytes. */
  maxFrame: number;
  // Varint being read across chunks.
  #lenValue = 0;
  #lenMul = 1;
  #inLen = false;
  // Body being assembled across chunks.
  #body: Uint8Array | null = null;
  #fill = 0;
  #failed = false;

  constructor(maxFrame: number) {
    this.maxFrame = maxFrame;
  }

  /** Bytes held for an incomplete frame (0 when at a frame boundary). */
  get pendingBytes(): number {
    return this.#body === null ? 0 : this.#fill;
  }

  /** Feeds bytes; calls `onFrame` for every complete frame, in order. */
  push(chunk: Uint8Array, onFrame: FrameHandler): void {
    this.pushRanges(chunk, (buf, start, end) => onFrame(buf.subarray(start, end)));
  }

  /** Feeds bytes; calls `onRange` with the place of every complete frame body, in order. */
  pushRanges(chunk: Uint8Array, onFrame: RangeHandler): void {
    if (this.#failed) throw new BusError(ErrorCode.PROTOCOL, 'decoder already failed');
    let off = 0;
    const end = chunk.length;
    while (off < end) {
      if (this.#body !== null) {
        // Layout: the rest of a body whose length is known.
        const body = this.#body;
        const n = Math.min(body.length - this.#fill, end - off);
        body.set(chunk.subarray(off, off + n), this.#fill);
        this.#fill += n;
        off += n;
        if (this.#fill < body.length) return;
        this.#body = null;
        onFrame(body, 0, body.length);
        continue;
      }
      if (!this.#inLen) {
        // Fast path: a whole frame inside this chunk.
        const b0 = chunk[off]!;
        if (b0 < 0x80) {
          const start = off + 1;
          if (b0 === 0) this.#fail('empty frame (length 0)');
          if (b0 > this.maxFrame) this.#tooLarge(b0);
          if (start + b0 <= end) {
            off = start + b0;
            onFrame(chunk, start, off);
            continue;
          }
        }
        this.#inLen = true;
        this.#lenValue = 0;
        this.#lenMul = 1;
      }
      // Layout: varint length, LEB128, least significant group first.
      const b = chunk[off++]!;
      if (b === 0 && this.#lenMul > 1) this.#fail('frame length varint not in its shortest form');
      this.#lenValue += (b & 0x7f) * this.#lenMul;
      if (this.#lenValue > this.maxFrame) this.#tooLarge(this.#lenValue);
      if (b >= 0x80) {
        this.#lenMul *= 128;
        // No accepted length needs more than 8 varint bytes.
        if (this.#lenMul > 2 ** 49) this.#tooLarge(Number.MAX_SAFE_INTEGER);
        continue;
      }
      this.#inLen = false;
      const len = this.#lenValue;
      if (len === 0) this.#fail('empty frame (length 0)');
      if (off + len <= end) {
        onFrame(chunk, off, off + len);
        off += len;
      } else {
        this.#body = new Uint8Array(len);
        this.#fill = 0;
      }
    }
  }

  #tooLarge(len: number): never {
    this.#failed = true;
    throw new BusError(
      ErrorCode.FRAME_TOO_LARGE,
      `frame length ${len} exceeds the maximum of ${this.maxFrame} bytes`,
    );
  }

  #fail(message: string): never {
    this.#failed = true;
    throw new BusError(ErrorCode.PROTOCOL, message);
  }
}
