// Framing of the raw ceilings: u32 little-endian body length, then the body. The splitter keeps
// only the unfinished tail of a read, never re-concatenating whole chunks.

/** Cuts a byte stream into regions that hold whole frames only, in order. */
export class FrameSplitter {
  #tail: Buffer | null = null;

  push(chunk: Buffer, emit: (region: Buffer) => void): void {
    let data = chunk;
    if (this.#tail) {
      let tail = this.#tail;
      if (tail.length < 4) {
        const take = Math.min(4 - tail.length, data.length);
        tail = Buffer.concat([tail, data.subarray(0, take)]);
        data = data.subarray(take);
        if (tail.length < 4) {
          this.#tail = tail;
          return;
        }
      }
      const total = 4 + tail.readUInt32LE(0);
      const take = Math.min(total - tail.length, data.length);
      tail = Buffer.concat([tail, data.subarray(0, take)]);
      data = data.subarray(take);
      if (tail.length < total) {
        this.#tail = tail;
        return;
      }
      this.#tail = null;
      emit(tail);
    }
    let off = 0;
    while (data.length - off >= 4) {
      const end = off + 4 + data.readUInt32LE(off);
      if (end > data.length) break;
      off = end;
    }
    if (off > 0) emit(off === data.length ? data : data.subarray(0, off));
    // Copy the tail so a small remainder does not pin a 64 KiB read buffer.
    if (off < data.length) this.#tail = Buffer.from(data.subarray(off));
  }
}

/** Calls fn with each frame body of a region produced by FrameSplitter. */
export function forEachFrame(region: Buffer, fn: (body: Buffer) => void): void {
  let off = 0;
  while (off < region.length) {
    const len = region.readUInt32LE(off);
    fn(region.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
}

/** Connection roles of the raw relay: the first byte a client sends. */
export const ROLE = { A: 1, B: 2, IDLE: 3 } as const;
