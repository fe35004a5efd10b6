// Slab allocator for message envelopes: carves views out of large shared buffers, so the hot
// path pays for a view object, not a fresh backing store. A slab lives as long as any view into
// it is queued somewhere. Imports nothing.

const SLAB = 256 * 1024;
/** Envelopes larger than this get their own buffer. */
const LARGE = 16 * 1024;

export class Slab {
  #buf = new Uint8Array(SLAB);
  #off = 0;

  /** A view of `n` uninitialised bytes. */
  alloc(n: number): Uint8Array {
    if (n > LARGE) return new Uint8Array(n);
    if (this.#off + n > SLAB) {
      this.#buf = new Uint8Array(SLAB);
      this.#off = 0;
    }
    const start = this.#off;
    // Keep views 8-byte aligned.
    this.#off = (start + n + 7) & ~7;
    return this.#buf.subarray(start, start + n);
  }
}
