// One client connection inside the broker: handshake state, subscriptions, the TX queue and
// its flushing, and the producers waiting for room in it. Imports only protocol/ and broker/.

import { FrameDecoder } from '../protocol/frame-decoder.js';
import type { SlowPolicyValue } from '../protocol/frames.js';
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
const BATCH_MIN = 64 * 1024;
/** The write batch of one tick stays under this; later messages wait in the TX queue. */
const BATCH_MAX = 1024 * 1024;
const NO_BATCH = new Uint8Array(0);

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
  /** Frames serialized for the next write (fast path); see fastPath(). */
  batch: Uint8Array = NO_BATCH;
  batchLen = 0;
  batchMsgs = 0;
  /** Writes handed to the transport. */
  writes = 0;
  /** Set while the session is in the broker's dirty list. */
  scheduled = false;
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

  get open(): boolean {
    return this.state === SessionState.READY;
  }

  /** Queues a whole frame (control, errors, replies). */
  pushFrame(frame: Uint8Array, priority = 0): void {
    this.txq.push(priority, WHOLE_FRAME, frame, 0);
  }

  /**
   * Writes queued frames until the queue is empty or the transport is saturated.
   * Returns true when the queue was emptied.
   */
  flush(): boolean {
    if (this.state === SessionState.CLOSED) return true;
    while (!this.waitingDrain) {
      // Queued entries of priority >= 1 overtake the batch (which holds priority 0 only);
      // the batch was filled while the queue was empty, so it precedes queued priority-0 entries.
      let chunk: Uint8Array | null = null;
      if (this.batchLen > 0) {
        chunk = this.txq.take(WRITE_CHUNK, 1);
        if (chunk === null) {
          chunk = this.batch.subarray(0, this.batchLen);
          this.batch = NO_BATCH;
          this.batchLen = 0;
          this.batchMsgs = 0;
        }
      } else chunk = this.txq.take(WRITE_CHUNK);
      if (chunk === null) return true;
      this.writes++;
      if (!this.conn.write(chunk)) this.waitingDrain = true;
    }
    return false;
  }

  /**
   * True when a priority-0 message for this session may skip the TX queue and be serialized
   * straight into the write batch: nothing is queued and the transport is not saturated.
   */
  fastPath(bytes: number, maxBytes: number, maxMsgs: number): boolean {
    return (
      this.txq.length === 0 &&
      !this.waitingDrain &&
      this.state === SessionState.READY &&
      this.batchLen + bytes <= Math.min(maxBytes, BATCH_MAX) &&
      this.batchMsgs < maxMsgs
    );
  }

  /** Room for `n` more bytes in the write batch; returns the offset to write at. */
  reserve(n: number): number {
    const need = this.batchLen + n;
    if (need > this.batch.length) {
      const grown = new Uint8Array(Math.max(BATCH_MIN, need * 2));
      grown.set(this.batch.subarray(0, this.batchLen));
      this.batch = grown;
    }
    const off = this.batchLen;
    this.batchLen = need;
    this.batchMsgs++;
    return off;
  }
}
