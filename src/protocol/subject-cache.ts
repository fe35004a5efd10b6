// Subject strings from wire bytes without allocating: a hash of the bytes finds the string made
// last time, checked byte by byte. Routing a hot subject then creates no garbage. Imports only bytes.

import { readAscii } from './bytes.js';

const SIZE = 4096; // slots, a power of two

export class SubjectCache {
  #slots: (string | undefined)[] = new Array<string | undefined>(SIZE);

  /** The ASCII string of buf[start..end). */
  get(buf: Uint8Array, start: number, end: number): string {
    // FNV-1a, 32-bit.
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    const slot = (h >>> 0) & (SIZE - 1);
    const cached = this.#slots[slot];
    if (cached !== undefined && cached.length === end - start) {
      let same = true;
      for (let i = start, j = 0; i < end; i++, j++) {
        if (cached.charCodeAt(j) !== buf[i]) {
          same = false;
          break;
        }
      }
      if (same) return cached;
    }
    const s = readAscii(buf, start, end);
    this.#slots[slot] = s;
    return s;
  }
}
