// The output side of one connection: the write batch (priority-0 MSG frames serialized in
// arrival order into 256 KiB chunks), its dirty mark, and the flush that hands bytes to the
// Conn. Imports only broker/ (TxQueue, Conn).

import type { Conn } from '../protocol/conn.js';
import type { TxQueue } from './tx-queue.js';

/** Bytes handed to the transport per write at most. */
const WRITE_CHUNK = 256 * 1024;
/** Size of one batch chunk (and so of most writes). */
const BATCH_CHUNK = 256 * 1024;
const NO_BATCH = new Uint8Array(0);
/** The unwritten rest of a batch chunk is reused when at least this big. */
const MIN_REST = 16 * 1024;

export class WriteBatch {
  /** The chunk being filled; reserve() says where to write in it. */
  chunk: Uint8Array = NO_BATCH;
  #len = 0;
  /** Full chunks waiting to be written, and how many messages each holds. */
  readonly #sealed: Uint8Array[] = [];
  readonly #sealedMsgs: number[] = [];
  /** Messages in the chunk being filled. */
  #chunkMsgs = 0;
  /** Bytes and messages in the whole batch (sealed chunks and the one being filled). */
  bytes = 0;
  msgs = 0;
  /** Set while the connection is in the broker's list of connections to flush. */
  dirty = false;
  /** Set while the transport is saturated (write returned false) until its drain. */
  waitingDrain = false;

  /** Room for `n` more bytes; returns the offset in `chunk` to write at. */
  reserve(n: number): number {
    if (this.#len + n > this.chunk.length) {
      if (this.#len > 0) {
        this.#sealed.push(this.chunk.subarray(0, this.#len));
        this.#sealedMsgs.push(this.#chunkMsgs);
      }
      this.chunk = new Uint8Array(Math.max(BATCH_CHUNK, n));
      this.#len = 0;
      this.#chunkMsgs = 0;
    }
    const off = this.#len;
    this.#len += n;
    this.#chunkMsgs++;
    this.bytes += n;
    this.msgs++;
    return off;
  }

  /**
   * Writes until nothing is left or the transport is saturated; true when everything was written.
   * Order: queued entries of priority >= 1, then the batch (priority 0, filled while the queue
   * was empty, so older than any queued priority-0 entry), then the rest of the queue.
   */
  flush(txq: TxQueue, conn: Conn): boolean {
    while (!this.waitingDrain) {
      let chunk: Uint8Array | null;
      if (this.bytes > 0) chunk = txq.take(WRITE_CHUNK, 1) ?? this.#next();
      else chunk = txq.take(WRITE_CHUNK);
      if (chunk === null) return true;
      if (!conn.write(chunk)) this.waitingDrain = true;
    }
    return false;
  }

  #next(): Uint8Array {
    let chunk = this.#sealed.shift();
    let msgs = this.#sealedMsgs.shift();
    if (chunk === undefined || msgs === undefined) {
      // The chunk being filled goes out; what is left of its buffer (not written to the
      // transport) is filled next, so a flush per event-loop turn does not cost a fresh
      // 256 KiB allocation per client.
      chunk = this.chunk.subarray(0, this.#len);
      msgs = this.#chunkMsgs;
      this.chunk =
        this.chunk.length - this.#len >= MIN_REST ? this.chunk.subarray(this.#len) : NO_BATCH;
      this.#len = 0;
      this.#chunkMsgs = 0;
    }
    this.bytes -= chunk.length;
    this.msgs -= msgs;
    return chunk;
  }

  /** Discards the batch; returns how many messages it held. */
  clear(): number {
    const n = this.msgs;
    this.#sealed.length = 0;
    this.#sealedMsgs.length = 0;
    this.chunk = NO_BATCH;
    this.#len = 0;
    this.#chunkMsgs = 0;
    this.bytes = 0;
    this.msgs = 0;
    return n;
  }
}
