// One client connection inside the broker: handshake state, identity, subscriptions, the TX
// queue and write batch, keepalive and loss counters. Imports only protocol/ and broker/.

import type { TimerHandle } from '../protocol/clock.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import type { Conn } from '../protocol/conn.js';
import type { WireErrorCode } from '../protocol/errors.js';
import { UNKNOWN_ID, type Sender } from '../protocol/delivery-frames.js';
import { FlowState } from './flow-control.js';
import type { Sub } from './sub.js';
import type { TextInput } from './text-input.js';
import { OPEN_POLICY, SessionPolicy } from './policy.js';

const OPEN_SESSION = new SessionPolicy(OPEN_POLICY, { uid: undefined, gid: undefined });
import { TxQueue, WHOLE_FRAME } from './tx-queue.js';
import { WriteBatch } from './write-batch.js';

export const SessionState = {
  HANDSHAKE: 0,
  READY: 1,
  CLOSING: 2,
  CLOSED: 3,
} as const;
export type SessionStateValue = (typeof SessionState)[keyof typeof SessionState];

export class Session {
  readonly id: number;
  /** The connection; a text-mode session's is replaced by a TextConn (text-mode.ts). */
  conn: Conn;
  /** Set when the connection speaks text mode: the line parser its input goes through. */
  text: TextInput | undefined = undefined;
  /** The first byte of a connection, kept until the second tells text from binary (sniff). */
  firstByte: Uint8Array | undefined = undefined;
  /** The access policy as it applies to this client (set at attach). */
  policy: SessionPolicy = OPEN_SESSION;
  /** The first bytes have told text from binary. */
  sniffed = false;
  readonly decoder: FrameDecoder;
  readonly txq = new TxQueue();
  /** The write batch, dirty mark and flush of this connection. */
  readonly out = new WriteBatch();
  readonly subs = new Map<number, Sub>();
  /** Producers paused for this session and sessions this one is paused for. */
  readonly flow = new FlowState();
  /** Subscriptions with a GAP notice still to send. */
  readonly gaps = new Set<Sub>();
  readonly connectedAt: number;
  /** This client as the sender of what it publishes: its id and kernel uid/pid, stamped on every message. */
  readonly sender: Sender;
  #state: SessionStateValue = SessionState.HANDSHAKE;
  #greeted = false;
  #name = '';
  #pid: number | undefined;
  #handshakeTimer: TimerHandle;
  /**
   * Set when the connection is refused (a connection limit): the fatal ERROR it gets once its
   * HELLO arrives (or after a short wait), instead of a handshake.
   */
  refusal: { code: WireErrorCode; message: string } | undefined = undefined;
  /** When the queue first overflowed for a `disconnect` subscription (grace period start), or 0. */
  slowSince = 0;
  /** Time of the last input, and keepalive PINGs sent since then. */
  lastInput: number;
  pingsOut = 0;
  msgsIn = 0;
  /** Messages queued or batched for this client. */
  delivered = 0;
  dropped = 0;

  constructor(id: number, conn: Conn, maxFrame: number, now: number) {
    this.id = id;
    this.conn = conn;
    const peer = conn.peer;
    this.sender = {
      id,
      uid: peer?.uid ?? UNKNOWN_ID,
      // 0: the process that connected was gone at accept (its pid may be another's now).
      pid: peer === undefined || peer.pid <= 0 ? UNKNOWN_ID : peer.pid,
    };
    this.decoder = new FrameDecoder(maxFrame);
    this.connectedAt = now;
    this.lastInput = now;
  }

  get state(): SessionStateValue {
    return this.#state;
  }

  get open(): boolean {
    return this.#state === SessionState.READY;
  }

  /** True once the handshake succeeded (the session has connect/disconnect events). */
  get greeted(): boolean {
    return this.#greeted;
  }

  get name(): string {
    return this.#name;
  }

  get pid(): number | undefined {
    return this.#pid;
  }

  /** Bytes queued or batched for this client (not yet handed to the transport). */
  get pending(): number {
    return this.txq.bytes + this.out.bytes;
  }

  /** Messages and frames queued or batched for this client. */
  get queuedMsgs(): number {
    return this.txq.length + this.out.msgs;
  }

  /** The timer that ends the handshake; cancelled by ready() and close. */
  set handshakeTimer(t: TimerHandle) {
    this.#handshakeTimer = t;
  }

  /** The handshake succeeded; returns the handshake timer to cancel. */
  ready(name: string, pid: number | undefined): TimerHandle {
    this.#name = name;
    this.#pid = pid;
    this.#state = SessionState.READY;
    this.#greeted = true;
    return this.#handshakeTimer;
  }

  /** Stops reading and marks the session closing; false when it was already closing or closed. */
  beginClose(): boolean {
    if (this.#state >= SessionState.CLOSING) return false;
    this.#state = SessionState.CLOSING;
    this.conn.pause();
    return true;
  }

  /** Marks the session closed; false when it already was. */
  markClosed(): boolean {
    if (this.#state === SessionState.CLOSED) return false;
    this.#state = SessionState.CLOSED;
    return true;
  }

  /** The handshake timer, for the broker to cancel on close. */
  get handshakeTimer(): TimerHandle {
    return this.#handshakeTimer;
  }

  /** Input arrived at `now`: the peer is alive. */
  noteInput(now: number): void {
    this.lastInput = now;
    this.pingsOut = 0;
  }

  /** Queues a whole frame (control, errors, replies). */
  pushFrame(frame: Uint8Array, priority = 0): void {
    this.txq.push(priority, WHOLE_FRAME, frame, 0);
  }

  /** Writes until nothing is left or the transport is saturated; true when everything was written. */
  flush(): boolean {
    if (this.#state === SessionState.CLOSED) return true;
    return this.out.flush(this.txq, this.conn);
  }

  /** Discards what is queued and batched; returns the queued message entries and the batched count. */
  discardOutput(): { queued: { sid: number; id: number }[]; batched: number } {
    return { queued: this.txq.clear(), batched: this.out.clear() };
  }

  /**
   * True when a priority-0 message may skip the TX queue and be serialized straight into the
   * batch: nothing is queued (so order holds) and the batch is within the bounds. While the
   * transport is saturated the batch keeps filling, unless the message must stay droppable in
   * the queue (`whileSaturated` false, for drop-oldest subscriptions).
   */
  fastPath(bytes: number, maxBytes: number, maxMsgs: number, whileSaturated: boolean): boolean {
    const out = this.out;
    return (
      this.txq.length === 0 &&
      (whileSaturated || !out.waitingDrain) &&
      this.#state === SessionState.READY &&
      out.bytes + bytes <= maxBytes &&
      out.msgs < maxMsgs
    );
  }
}
