// One client connection inside the broker: handshake state, subscriptions, the TX queue and
// its flushing, and the producers waiting for room in it. Imports only protocol/ and broker/.

import { FrameDecoder } from '../protocol/frame-decoder.js';
import type { SlowPolicyValue } from '../protocol/constants.js';
import type { Conn } from './conn.js';
import { TxQueue, WHOLE_FRAME } from './tx-queue.js';

/** A subscription or a responder registration of one session. */
export class Sub {
  readonly session: Session;
  readonly sid: number;
  readonly subject: string;
  readonly queue: string | undefined;
  readonly serve: boolean;
  readonly policy: SlowPolicyValue;
  /** Messages lost on this subscription since the last GAP notice, and their id range. */
  gapLost = 0;
  gapFirst = 0;
  gapLast = 0;
  /** Messages lost on this subscription in total. */
  dropped = 0;
  delivered = 0;

  constructor(
    session: Session,
    sid: number,
    subject: string,
    queue: string | undefined,
    serve: boolean,
    policy: SlowPolicyValue,
  ) {
    this.session = session;
    this.sid = sid;
    this.subject = subject;
    this.queue = queue;
    this.serve = serve;
    this.policy = policy;
  }
}

export const SessionState = {
  HANDSHAKE: 0,
  READY: 1,
  CLOSING: 2,
  CLOSED: 3,
} as const;
export type SessionStateValue = (typeof SessionState)[keyof typeof SessionState];

/** Bytes handed to the transport per write at most. */
const WRITE_CHUNK = 256 * 1024;
/** Size of one batch chunk (and so of most writes). */
const BATCH_CHUNK = 256 * 1024;
const NO_BATCH = new Uint8Array(0);
/** The unwritten rest of a batch chunk is reused when at least this big. */
const MIN_REST = 16 * 1024;

export class Session {
  readonly id: number;
  readonly conn: Conn;
  readonly decoder: FrameDecoder;
  readonly txq = new TxQueue();
  readonly subs = new Map<number, Sub>();
  readonly connectedAt = Date.now();
  state: SessionStateValue = SessionState.HANDSHAKE;
  /** Set once the handshake succeeded (for connect/disconnect events). */
  greeted = false;
  name = '';
  pid: number | undefined;
  /** Tokens of requests this session must answer. */
  readonly answering = new Set<number>();
  /** Producers paused until this session's queue has room. */
  readonly waiters = new Set<Session>();
  /** Sessions this one is paused for. */
  readonly blockedBy = new Set<Session>();
  /** Subscriptions with a GAP notice still to send. */
  readonly gaps = new Set<Sub>();
  /** Set while the transport is saturated (write returned false). */
  waitingDrain = false;
  /**
   * The write batch (fast path, see fastPath()): priority-0 MSG frames serialized in arrival
   * order into 256 KiB chunks. `batch` is the chunk being filled; `sealed` the full ones.
   */
  batch: Uint8Array = NO_BATCH;
  batchLen = 0;
  readonly sealed: Uint8Array[] = [];
  readonly sealedMsgs: number[] = [];
  /** Messages in the chunk being filled. */
  chunkMsgs = 0;
  /** Bytes and messages in the whole batch (sealed chunks and the one being filled). */
  batchBytes = 0;
  batchMsgs = 0;
  /** Writes handed to the transport. */
  writes = 0;
  /** Set while the session is in the broker's dirty list. */
  scheduled = false;
  /** Flow control: the timer bounding how long producers wait for this client to drain. */
  paceTimer: ReturnType<typeof setTimeout> | undefined;
  /** Flow control: this client did not drain within flowWaitMs; it paces nobody until it does. */
  paceExpired = false;
  /** When the queue first overflowed for a `disconnect` subscription (grace period start). */
  slowSince = 0;
  handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  lastInput = Date.now();
  /** Keepalive PINGs sent since the last input. */
  pingsOut = 0;
  msgsIn = 0;
  /** Messages queued or batched for this client. */
  delivered = 0;
  bytesIn = 0;
  dropped = 0;

  constructor(id: number, conn: Conn, maxFrame: number) {
    this.id = id;
    this.conn = conn;
    this.decoder = new FrameDecoder(maxFrame);
  }

  /** Bytes queued or batched for this client (not yet handed to the transport). */
  get pending(): number {
    return this.txq.bytes + this.batchBytes;
  }

  get open(): boolean {
    return this.state === SessionState.READY;
  }

  /** Queues a whole frame (control, errors, replies). */
  pushFrame(frame: Uint8Array, priority = 0): void {
    this.txq.push(priority, WHOLE_FRAME, frame, 0);
  }

  /**
   * Writes until nothing is left or the transport is saturated; true when everything was written.
   * Order: queued entries of priority >= 1, then the batch (priority 0, filled while the queue
   * was empty, so older than any queued priority-0 entry), then the rest of the queue.
   */
  flush(): boolean {
    if (this.state === SessionState.CLOSED) return true;
    while (!this.waitingDrain) {
      let chunk: Uint8Array | null;
      if (this.batchBytes > 0) chunk = this.txq.take(WRITE_CHUNK, 1) ?? this.#nextBatchChunk();
      else chunk = this.txq.take(WRITE_CHUNK);
      if (chunk === null) return true;
      this.writes++;
      if (!this.conn.write(chunk)) this.waitingDrain = true;
    }
    return false;
  }

  #nextBatchChunk(): Uint8Array {
    let chunk = this.sealed.shift();
    let msgs = this.sealedMsgs.shift();
    if (chunk === undefined || msgs === undefined) {
      // The chunk being filled goes out; what is left of its buffer (not written to the
      // transport) is filled next, so a flush per event-loop turn does not cost a fresh
      // 256 KiB allocation per client.
      chunk = this.batch.subarray(0, this.batchLen);
      msgs = this.chunkMsgs;
      this.batch =
        this.batch.length - this.batchLen >= MIN_REST
          ? this.batch.subarray(this.batchLen)
          : NO_BATCH;
      this.batchLen = 0;
      this.chunkMsgs = 0;
    }
    this.batchBytes -= chunk.length;
    this.batchMsgs -= msgs;
    return chunk;
  }

  /** Discards the batch; returns how many messages it held. */
  clearBatch(): number {
    const n = this.batchMsgs;
    this.sealed.length = 0;
    this.sealedMsgs.length = 0;
    this.batch = NO_BATCH;
    this.batchLen = 0;
    this.chunkMsgs = 0;
    this.batchBytes = 0;
    this.batchMsgs = 0;
    return n;
  }

  /**
   * True when a priority-0 message may skip the TX queue and be serialized straight into the
   * batch: nothing is queued (so order holds) and the batch is within the bounds. While the
   * transport is saturated the batch keeps filling, unless the message must stay droppable in
   * the queue (`whileSaturated` false, for drop-oldest subscriptions).
   */
  fastPath(bytes: number, maxBytes: number, maxMsgs: number, whileSaturated: boolean): boolean {
    return (
      this.txq.length === 0 &&
      (whileSaturated || !this.waitingDrain) &&
      this.state === SessionState.READY &&
      this.batchBytes + bytes <= maxBytes &&
      this.batchMsgs < maxMsgs
    );
  }

  /** Room for `n` more bytes in the batch; returns the offset in `batch` to write at. */
  reserve(n: number): number {
    if (this.batchLen + n > this.batch.length) {
      if (this.batchLen > 0) {
        this.sealed.push(this.batch.subarray(0, this.batchLen));
        this.sealedMsgs.push(this.chunkMsgs);
      }
      this.batch = new Uint8Array(Math.max(BATCH_CHUNK, n));
      this.batchLen = 0;
      this.chunkMsgs = 0;
    }
    const off = this.batchLen;
    this.batchLen += n;
    this.chunkMsgs++;
    this.batchBytes += n;
    this.batchMsgs++;
    return off;
  }
}
