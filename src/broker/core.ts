// The state every handler shares: options, sessions, subject indexes, pending requests, the
// envelope slab, counters; and the few services they all use (queue a frame, refuse one frame,
// fail a connection, flush). Imports only protocol/ and broker/.

import { BusError, ErrorCode, isWireErrorCode, type WireErrorCode } from '../protocol/errors.js';
import { encodeCallReply, encodeError } from '../protocol/control-frames.js';
import type { Obj } from '../protocol/schema.js';
import { daemonSender, encodeReply, type Sender } from '../protocol/delivery-frames.js';
import { PubLayout } from '../protocol/message-frames.js';
import { ReplyStatus } from '../protocol/constants.js';
import { SubjectCache } from '../protocol/subject-cache.js';
import { textEncoder } from '../protocol/bytes.js';
import { AcceptErrors } from './accept-errors.js';
import { afterFlush, block } from './flow-control.js';
import type { ResolvedOptions } from './options.js';
import { PendingRequests, type Pending } from './pending-requests.js';
import { Session, SessionState } from './session.js';
import { Slab } from './slab.js';
import type { Sub } from './sub.js';
import { SubjectIndex } from './subject-index.js';
import { NameRegistry } from './names.js';
import { denial, type Policy, type Verb } from './policy.js';
import { StateStore } from './state.js';
import { Timers } from './timers.js';
import { publishTick, type SourceHost } from './commands.js';

/** Output of a read up to this size is written at once instead of at the end of the turn. */
export const FLUSH_NOW_BYTES = 4096;

/** How long a refused connection is given to send its HELLO before its ERROR is sent anyway. */
export const REFUSE_WAIT_MS = 200;

export class BrokerCore {
  readonly options: ResolvedOptions;
  readonly startedAt: number;
  readonly sessions = new Map<number, Session>();
  /** Plain subscriptions (receive PUBs) and `serve` registrations (receive REQs). */
  readonly subs = new SubjectIndex<Sub>();
  readonly responders = new SubjectIndex<Sub>();
  /** Monitor subscriptions (monitor.ts). */
  readonly monitors = new SubjectIndex<Sub>();
  readonly pending: PendingRequests;
  /** Service names and their owners (names.ts). */
  readonly names: NameRegistry;
  /** Shared state: retained values by key (on-state.ts). */
  readonly state: StateStore;
  /** Daemon timers (timers.ts), publishing ticks through commands.ts. */
  readonly timers: Timers;
  /** The daemon's event sources, when it has any (Broker.setSources). */
  sources: SourceHost | undefined = undefined;
  readonly slab = new Slab();
  readonly subjects = new SubjectCache();
  /**
   * Scratch for the PUB hot path, so parsing a PUB allocates nothing. One per broker: frames
   * are handled one at a time and nothing keeps it across frames.
   */
  readonly pubLayout = new PubLayout();
  /** Connections the transport could not accept, counted and logged at most once a second. */
  readonly acceptErrors: AcceptErrors;
  /** The daemon as the sender of `$SYS` events and of replies no responder gave. */
  readonly self: Sender;
  /** Daemon-wide counters (status totals). */
  msgsIn = 0;
  /**
   * The subscriptions of closed sessions, still in the indexes: removed a slice per turn
   * (on-sub.ts), `leavingCount` in all.
   */
  readonly leavingSubs: Map<number, Sub>[] = [];
  leavingCount = 0;
  /** SUBs refused by a subscription limit (per connection or bus-wide). */
  subsRefused = 0;
  /** Operations the access policy refused (connections included), in all and by verb. */
  denied = 0;
  readonly deniedByVerb: Record<string, number> = {};
  /** The access policy in force (replaced on a reload: Broker.setPolicy). */
  policy: Policy;
  delivered = 0;
  dropped = 0;
  #nextMsgId = 1;
  #dirty: Session[] = [];
  #flushScheduled = false;

  constructor(options: ResolvedOptions) {
    this.options = options;
    this.startedAt = options.clock.now();
    this.self = daemonSender(options.self?.uid, options.self?.pid);
    this.acceptErrors = new AcceptErrors(options.clock, options.warn);
    this.names = new NameRegistry(options.maxNamesPerClient, options.maxNames);
    this.policy = options.policy;
    this.state = new StateStore({
      maxKeys: options.maxStateKeys,
      maxValueBytes: options.maxStateValueBytes,
      maxBytes: options.maxStateBytes,
    });
    this.pending = new PendingRequests(options.clock, (p) => this.#timedOut(p));
    this.timers = new Timers(
      options.clock,
      { maxTimers: options.maxTimers, minIntervalMs: options.minTimerIntervalMs },
      (t) => publishTick(this, t),
    );
  }

  /** Subscriptions and `serve` registrations of live sessions. */
  get subscriptionCount(): number {
    return this.subs.size + this.responders.size + this.monitors.size - this.leavingCount;
  }

  /** The subject index `sub` lives in. */
  indexOf(sub: Sub): SubjectIndex<Sub> {
    return sub.monitor ? this.monitors : sub.serve ? this.responders : this.subs;
  }

  /** The next daemon-wide message id. */
  nextMsgId(): number {
    return this.#nextMsgId++;
  }

  /** Queues a whole frame for `s` and marks it for the next flush. */
  push(s: Session, frame: Uint8Array, priority = 0): void {
    if (s.state === SessionState.CLOSED) return;
    s.pushFrame(frame, priority);
    if (!s.out.dirty) this.markDirty(s);
  }

  /**
   * Queues the daemon's answer to one of `s`'s own frames (PONG, non-fatal ERROR, CALL_REPLY, an
   * immediate REPLY). It counts against `s`'s bound like any message: over it, `s` is not read
   * until its queue drains to half, so a client that asks and never reads cannot grow it.
   */
  reply(s: Session, frame: Uint8Array, priority = 0): void {
    // A text session's answers all take one priority, so they print in the order of its commands.
    this.push(s, frame, s.text === undefined ? priority : 255);
    const o = this.options;
    if (s.pending > o.maxQueueBytes || s.queuedMsgs > o.maxQueueMsgs) block(s, s);
  }

  /**
   * Null when the access policy lets `s` do `verb` on `subject`; else the denial is counted and
   * its message returned (BUS_ERR_PERMISSION, naming the operation, subject and rule).
   */
  deny(s: Session, verb: Verb, subject: string): string | null {
    const rule = s.policy.denies(verb, subject);
    if (rule === null) return null;
    this.countDenial(verb);
    return denial(verb, subject, rule);
  }

  /** Like deny(), for a CALL: throws the BusError. */
  permit(s: Session, verb: Verb, subject: string): void {
    const why = s.policy.open ? null : this.deny(s, verb, subject);
    if (why !== null) throw new BusError(ErrorCode.PERMISSION, why, { detail: { verb, subject } });
  }

  countDenial(verb: Verb): void {
    this.denied++;
    this.deniedByVerb[verb] = (this.deniedByVerb[verb] ?? 0) + 1;
  }

  /** Answers a CALL with what `run` returns, or with the code and message of the BusError it throws. */
  answerCall(s: Session, cid: number, run: () => unknown): void {
    let reply;
    try {
      reply = encodeCallReply({ cid, ok: true, result: run() });
    } catch (err) {
      if (!(err instanceof BusError)) throw err;
      const code = isWireErrorCode(err.code) ? err.code : ErrorCode.PROTOCOL;
      reply = encodeCallReply({ cid, ok: false, result: undefined, code, message: err.message });
    }
    this.reply(s, reply);
  }

  /** A non-fatal ERROR: one frame was refused; `detail` names what it answers. */
  refuse(s: Session, code: WireErrorCode, message: string, detail: Obj): void {
    this.reply(s, encodeError({ code, message, fatal: false, detail }));
  }

  /** Sends a fatal error, then closes the session once what is queued is written (`quiet`: no log line). */
  /** Connections ended with a fatal ERROR, by code (status `totals.fatalErrors`). */
  readonly fatalErrors: Record<string, number> = {};

  /**
   * Refuses a new connection with a fatal ERROR, sent when its HELLO arrives or after
   * REFUSE_WAIT_MS. Closing at once would race the client's HELLO: a client that writes after
   * the daemon closed gets EPIPE and never reads the ERROR that says why.
   */
  refuseAtHello(s: Session, code: WireErrorCode, message: string): void {
    s.refusal = { code, message };
    s.handshakeTimer = this.options.clock.setTimeout(
      () => this.fail(s, code, message, undefined, true),
      REFUSE_WAIT_MS,
    );
  }

  fail(s: Session, code: WireErrorCode, message: string, detail?: Obj, quiet = false): void {
    const wasReady = s.open;
    if (!s.beginClose()) return;
    this.fatalErrors[code] = (this.fatalErrors[code] ?? 0) + 1;
    this.options.clock.clearTimeout(s.handshakeTimer);
    if (!quiet && (wasReady || code !== ErrorCode.SHUTDOWN)) {
      this.options.log(`client ${s.id}: ${code}: ${message}`);
    }
    s.pushFrame(encodeError({ code, message, fatal: true, detail }), 255);
    this.flushSession(s);
  }

  // -------------------------------------------------------------------------------------------
  // Output scheduling: one flush per connection per event-loop turn (or at once after a small read)

  markDirty(s: Session): void {
    s.out.dirty = true;
    this.#dirty.push(s);
    this.requestFlush();
  }

  /** True when some connection has output waiting for a flush. */
  get hasDirty(): boolean {
    return this.#dirty.length > 0;
  }

  requestFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    this.options.schedule(this.flushAll);
  }

  readonly flushAll = (): void => {
    this.#flushScheduled = false;
    const dirty = this.#dirty;
    this.#dirty = [];
    for (const s of dirty) {
      s.out.dirty = false;
      this.flushSession(s);
    }
  };

  /** Writes what `s` has queued, then applies what room in its queue allows (flow-control.ts). */
  flushSession(s: Session): void {
    afterFlush(this, s, s.flush());
  }

  /** A request's deadline passed: the requester gets REPLY status TIMEOUT (from: the responder). */
  #timedOut(p: Pending): void {
    if (!p.requester.open) return;
    const why = textEncoder.encode(`no answer within ${p.timeoutMs} ms`);
    this.push(
      p.requester,
      encodeReply(p.reqId, ReplyStatus.TIMEOUT, 0, p.responder.sender, why),
      255,
    );
  }
}
