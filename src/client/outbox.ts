// The client's send queue: frames batched in one buffer and written once per microtask, chunks
// in flight until the link flushes them, chunks kept while offline; running byte and message
// counters (no per-call sums), the queue bounds, and the `drain` signal. Imports protocol/ and transport/ types.

import { BufferFullError } from '../protocol/errors.js';
import type { Link } from '../transport/link.js';

const SCRATCH = 64 * 1024;
const SMALL_COPY = 4096;

/** Bounds of the queue. */
export interface OutboxLimits {
  maxQueueBytes: number;
  maxQueueMsgs: number;
  highWaterMark: number;
}

/** A chunk handed to the link, with the count of messages in it. */
interface InFlight {
  msgs: number;
  bytes: number;
}

/**
 * Everything the client has accepted to send and the link has not yet flushed: the batch being
 * filled, chunks in flight, chunks kept while offline. Only messages count against the bounds;
 * control frames always fit.
 */
export class Outbox {
  /** Messages flushed by the link. */
  sent = 0;
  /** Messages refused because the queue was full. */
  dropped = 0;
  /** Messages lost with a broken link or discarded at close. */
  failed = 0;
  #limits: OutboxLimits;
  #onDrain: () => void;
  #link: Link | null = null;
  // Batch: frames in #buf[0..#off), #bufMsgs of them messages.
  #buf: Buffer = Buffer.allocUnsafe(SCRATCH);
  #off = 0;
  #bufMsgs = 0;
  #flushQueued = false;
  #inFlight: InFlight[] = [];
  #inFlightBytes = 0;
  #inFlightMsgs = 0;
  #offline: { chunk: Uint8Array; msgs: number }[] = [];
  #offlineBytes = 0;
  #offlineMsgs = 0;
  #needDrain = false;

  constructor(limits: OutboxLimits, onDrain: () => void) {
    this.#limits = limits;
    this.#onDrain = onDrain;
  }

  /** Bytes accepted and not yet flushed by the link. */
  get queuedBytes(): number {
    return this.#off + this.#inFlightBytes + this.#offlineBytes;
  }

  /** Messages accepted and not yet flushed by the link. */
  get queuedMsgs(): number {
    return this.#bufMsgs + this.#inFlightMsgs + this.#offlineMsgs;
  }

  /** Where the next frame goes in the buffer returned by reserve(). */
  get offset(): number {
    return this.#off;
  }

  /** Starts writing to `link`: what was kept offline goes first, in order. */
  attach(link: Link): void {
    this.#link = link;
    const kept = this.#offline;
    this.#offline = [];
    this.#offlineBytes = 0;
    this.#offlineMsgs = 0;
    for (const k of kept) this.#write(link, k.chunk, k.msgs);
  }

  /** The link broke: chunks handed to it but not flushed are lost (counted as failed). */
  detach(): void {
    this.#link = null;
    this.failed += this.#inFlightMsgs;
    this.#inFlight = [];
    this.#inFlightBytes = 0;
    this.#inFlightMsgs = 0;
  }

  /** Closing for good: everything not yet flushed counts as failed. */
  discard(): void {
    this.detach();
    this.failed += this.#bufMsgs + this.#offlineMsgs;
    this.#off = 0;
    this.#bufMsgs = 0;
    this.#offline = [];
    this.#offlineBytes = 0;
    this.#offlineMsgs = 0;
  }

  /**
   * Makes room for `n` bytes and returns the buffer to write them at `offset`. A message past
   * the bounds throws BufferFullError (and is counted as dropped).
   */
  reserve(n: number, isMsg: boolean): Buffer {
    if (isMsg) {
      const bytes = this.queuedBytes;
      const msgs = this.queuedMsgs;
      const { maxQueueBytes, maxQueueMsgs } = this.#limits;
      if (bytes + n > maxQueueBytes || msgs + 1 > maxQueueMsgs) {
        this.dropped++;
        throw new BufferFullError(
          `send queue is full (${msgs} messages, ${bytes} bytes queued; limits ${maxQueueMsgs} messages, ${maxQueueBytes} bytes)`,
        );
      }
    }
    if (this.#off + n > this.#buf.length) {
      this.flush();
      if (n > this.#buf.length) this.#buf = Buffer.allocUnsafe(n);
    }
    return this.#buf;
  }

  /** Records what was written after reserve(); false once past the high-water mark (wait for drain). */
  commit(end: number, isMsg: boolean): boolean {
    this.#off = end;
    if (isMsg) this.#bufMsgs++;
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.flush);
    }
    if (this.queuedBytes >= this.#limits.highWaterMark) {
      this.#needDrain = true;
      return false;
    }
    return true;
  }

  /** Appends an encoded frame. */
  append(frame: Uint8Array, isMsg: boolean): boolean {
    this.reserve(frame.length, isMsg).set(frame, this.#off);
    return this.commit(this.#off + frame.length, isMsg);
  }

  /** Hands the batch to the link now (or keeps it while offline). */
  flush = (): void => {
    this.#flushQueued = false;
    const n = this.#off;
    if (n === 0) return;
    let chunk: Uint8Array;
    if (n <= SMALL_COPY) {
      chunk = Buffer.from(this.#buf.subarray(0, n));
    } else {
      chunk = this.#buf.subarray(0, n);
      // Fill the rest of the buffer next time (what was handed to the link is not touched).
      this.#buf =
        this.#buf.length - n >= SMALL_COPY ? this.#buf.subarray(n) : Buffer.allocUnsafe(SCRATCH);
    }
    const msgs = this.#bufMsgs;
    this.#off = 0;
    this.#bufMsgs = 0;
    if (this.#link !== null) this.#write(this.#link, chunk, msgs);
    else {
      this.#offline.push({ chunk, msgs });
      this.#offlineBytes += n;
      this.#offlineMsgs += msgs;
    }
  };

  #write(link: Link, chunk: Uint8Array, msgs: number): void {
    const entry: InFlight = { msgs, bytes: chunk.length };
    this.#inFlight.push(entry);
    this.#inFlightBytes += chunk.length;
    this.#inFlightMsgs += msgs;
    link.write(chunk, (err) => {
      // A failure is counted by detach(); a callback from an old link is stale.
      if ((err !== undefined && err !== null) || link !== this.#link) return;
      // Flush callbacks come in write order.
      const head = this.#inFlight.shift();
      if (head === undefined) return;
      this.#inFlightBytes -= head.bytes;
      this.#inFlightMsgs -= head.msgs;
      this.sent += head.msgs;
      this.maybeDrain();
    });
  }

  /** Signals drain once the queue is below half the high-water mark, if someone waits for it. */
  maybeDrain(): void {
    if (!this.#needDrain) return;
    if (this.queuedBytes < this.#limits.highWaterMark / 2) {
      this.#needDrain = false;
      this.#onDrain();
    }
  }
}
