// Per-connection transmit queue: frames waiting to be written, ordered by priority then FIFO,
// bounded by bytes and by count. Entries are kept as (sid, bytes) pairs in parallel arrays, so
// queuing a message allocates nothing per message. Imports only protocol/.

import { writeMsgHead } from '../protocol/delivery-frames.js';

/** sid value marking an entry that is already a whole frame. */
export const WHOLE_FRAME = -1;

/** One priority level: FIFO of entries. */
class Level {
  sids: number[] = [];
  bufs: Uint8Array[] = [];
  ids: number[] = [];
  head = 0;
  readonly priority: number;
  constructor(priority: number) {
    this.priority = priority;
  }
  get size(): number {
    return this.sids.length - this.head;
  }
  compact(): void {
    if (this.head > 1024 && this.head * 2 > this.sids.length) {
      this.sids = this.sids.slice(this.head);
      this.bufs = this.bufs.slice(this.head);
      this.ids = this.ids.slice(this.head);
      this.head = 0;
    }
  }
}

/**
 * What an entry counts against the byte bound beyond its buffer: an upper bound of the MSG
 * prefix (`len | 0x11 | sid`), so accounting needs no varint sizing on the hot path.
 */
export const ENTRY_OVERHEAD = 12;

/** A dropped entry, as reported to the slow-consumer accounting. */
export interface Dropped {
  sid: number;
  id: number;
}

/** Priority-ordered, bounded queue of frames for one connection. */
export class TxQueue {
  /** Levels by descending priority; usually just one (priority 0). */
  #levels: Level[] = [];
  #byPriority: (Level | undefined)[] = [];
  bytes = 0;
  length = 0;

  /**
   * Appends a MSG entry (`sid` >= 0, `buf` = the shared envelope) or a whole frame
   * (`sid` = WHOLE_FRAME). `id` is the message id, kept for gap accounting (0 for control frames).
   */
  push(priority: number, sid: number, buf: Uint8Array, id: number): void {
    const level = this.#byPriority[priority] ?? this.#addLevel(priority);
    level.sids.push(sid);
    level.bufs.push(buf);
    level.ids.push(id);
    this.bytes += buf.length + ENTRY_OVERHEAD;
    this.length++;
  }

  #addLevel(priority: number): Level {
    const level = new Level(priority);
    this.#byPriority[priority] = level;
    let i = 0;
    while (i < this.#levels.length && this.#levels[i]!.priority > priority) i++;
    this.#levels.splice(i, 0, level);
    return level;
  }

  /**
   * Removes the oldest message entry of the lowest priority present that belongs to one of the
   * subscriptions for which `droppable(sid)` is true. Returns it, or null if there is none.
   */
  dropOldest(droppable: (sid: number) => boolean): Dropped | null {
    for (let li = this.#levels.length - 1; li >= 0; li--) {
      const level = this.#levels[li]!;
      for (let i = level.head; i < level.sids.length; i++) {
        const sid = level.sids[i]!;
        if (sid <= 0 || !droppable(sid)) continue;
        const buf = level.bufs[i]!;
        const id = level.ids[i]!;
        this.bytes -= buf.length + ENTRY_OVERHEAD;
        this.length--;
        if (i === level.head) {
          level.head++;
          level.compact();
        } else {
          level.sids.splice(i, 1);
          level.bufs.splice(i, 1);
          level.ids.splice(i, 1);
        }
        return { sid, id };
      }
    }
    return null;
  }

  /**
   * Takes entries, highest priority first, into one buffer of at most `maxBytes` (at least one
   * entry). With `minPriority`, only entries of at least that priority. Returns null when none.
   */
  take(maxBytes: number, minPriority = 0): Uint8Array | null {
    if (this.length === 0) return null;
    if (minPriority > 0) {
      const below = this.#levels.findIndex((l) => l.priority < minPriority);
      if (below === 0) return null;
      if (below >= 0) {
        // Take from the high levels only: hide the lower ones for this call.
        const all = this.#levels;
        this.#levels = all.slice(0, below);
        try {
          return this.take(maxBytes);
        } finally {
          this.#levels = all;
        }
      }
    }
    // Size first (by the accounting bound, which is never less than the wire size), so the
    // write buffer is allocated once.
    let total = 0;
    let count = 0;
    outer: for (const level of this.#levels) {
      const bufs = level.bufs;
      for (let i = level.head; i < bufs.length; i++) {
        const size = bufs[i]!.length + ENTRY_OVERHEAD;
        if (count > 0 && total + size > maxBytes) break outer;
        total += size;
        count++;
      }
    }
    if (count === 0) return null; // only empty levels in reach
    const out = new Uint8Array(total);
    let off = 0;
    let left = count;
    for (const level of this.#levels) {
      const sids = level.sids;
      const bufs = level.bufs;
      while (left > 0 && level.head < sids.length) {
        const i = level.head++;
        const sid = sids[i]!;
        const buf = bufs[i]!;
        const n = buf.length;
        if (sid !== WHOLE_FRAME) off = writeMsgHead(out, off, sid, n);
        if (n <= 64) for (let k = 0; k < n; k++) out[off + k] = buf[k]!;
        else out.set(buf, off);
        off += n;
        left--;
      }
      if (level.head === sids.length) {
        sids.length = 0;
        bufs.length = 0;
        level.ids.length = 0;
        level.head = 0;
      } else level.compact();
      if (left === 0) break;
    }
    this.length -= count;
    this.bytes -= total;
    return out.subarray(0, off);
  }

  /** Empties the queue; returns the message entries dropped (for accounting). */
  clear(): Dropped[] {
    const dropped: Dropped[] = [];
    for (const level of this.#levels) {
      for (let i = level.head; i < level.sids.length; i++) {
        const sid = level.sids[i]!;
        if (sid > 0) dropped.push({ sid, id: level.ids[i]! });
      }
    }
    this.#levels = [];
    this.#byPriority = [];
    this.bytes = 0;
    this.length = 0;
    return dropped;
  }
}
