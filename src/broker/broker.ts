// The broker: the registry of sessions, `attach` (one Conn per client), frame dispatch to the
// handler of each op, disconnect and shutdown. Routing, delivery and flow control live in the
// other files of broker/. Talks to peers only through Conn. Imports only protocol/ and broker/.

import { BusError, ErrorCode, isWireErrorCode } from '../protocol/errors.js';
import { Op, ReplyStatus, hex2 } from '../protocol/constants.js';
import { encodeBare, encodeError } from '../protocol/control-frames.js';
import { encodeReply } from '../protocol/delivery-frames.js';
import type { BrokerStatus } from '../protocol/status.js';
import type { Conn, ConnEvents } from '../protocol/conn.js';
import { BrokerCore, FLUSH_NOW_BYTES } from './core.js';
import { forget } from './flow-control.js';
import { Keepalive } from './keepalive.js';
import { onCall } from './on-call.js';
import { dropNames } from './on-names.js';
import { SessionPolicy, connectAllowed, type Policy } from './policy.js';
import { onHello } from './on-hello.js';
import { onPub } from './on-pub.js';
import { onReq, onRes } from './on-request.js';
import { onSend } from './on-send.js';
import { onSub, onUnsub, removeAllSubs } from './on-sub.js';
import { PRE_HELLO_MAX_FRAME, resolveOptions, type BrokerOptions, type Limits } from './options.js';
import { Session, SessionState } from './session.js';
import type { PersistedState } from './state.js';
import { brokerStatus } from './status.js';
import { sysDisconnect, sysEvent } from './sys-events.js';
import { DaemonProducer, type ProducerControl } from './producer.js';
import type { SourceHost } from './commands.js';
import type { TimerInfo, TimerSpec } from './timers.js';
import { subjectProblem } from '../protocol/subject.js';
import { TextConn } from './text-conn.js';
import { TextInput } from './text-input.js';
import { TEXT_HELLO, TEXT_PONG, sniff } from './text-mode.js';

export type { BrokerOptions } from './options.js';
export type { PersistedState } from './state.js';
export type { BrokerStatus, ClientStatus } from '../protocol/status.js';

const EMPTY = new Uint8Array(0);
/** Every PONG is the same two bytes: one shared frame, however many are queued. */
const PONG = encodeBare(Op.PONG);

/** The message broker; attach a Conn per client. */
export class Broker {
  /** The limits in force (defaults filled in). */
  readonly options: Readonly<Limits>;
  readonly #core: BrokerCore;
  readonly #keepalive: Keepalive;
  #nextId = 1;
  #closing = false;
  /** Open connections per limited uid (maxConnectionsPerUid), and which uid each counts for. */
  #perUid = new Map<number, number>();
  #countedUid = new WeakMap<Session, number>();
  #onEmpty: (() => void) | undefined;

  constructor(options: BrokerOptions = {}) {
    const resolved = resolveOptions(options);
    this.options = resolved;
    this.#core = new BrokerCore(resolved);
    this.#keepalive = new Keepalive(this.#core);
  }

  /** When the broker started, on its clock (ms). */
  get startedAt(): number {
    return this.#core.startedAt;
  }

  /** Number of connected sessions. */
  get size(): number {
    return this.#core.sessions.size;
  }

  /** Registers a new connection; the transport forwards its events to the returned handlers. */
  attach(conn: Conn): ConnEvents {
    const core = this.#core;
    const { clock, handshakeTimeoutMs, maxFrame } = core.options;
    // Until the HELLO, only what a HELLO needs; on-hello.ts raises the limit to maxFrame.
    const preHello = Math.min(maxFrame, PRE_HELLO_MAX_FRAME);
    const session = new Session(this.#nextId++, conn, preHello, clock.now());
    const max = core.options.maxConnections;
    const full = max > 0 && core.sessions.size >= max;
    const uid = this.#uidToCount(conn);
    const perUid = core.options.maxConnectionsPerUid;
    core.sessions.set(session.id, session);
    if (this.#closing) {
      core.fail(session, ErrorCode.SHUTDOWN, 'the daemon is shutting down');
    } else if (full) {
      // Counted and logged once a second, not once per client.
      core.acceptErrors.note(`at the limit of ${max} connections (maxConnections)`);
      core.refuseAtHello(session, ErrorCode.LIMIT, `too many connections (limit ${max})`);
    } else if (uid !== undefined && (this.#perUid.get(uid) ?? 0) >= perUid) {
      core.acceptErrors.note(
        `uid ${uid} at its limit of ${perUid} connections (maxConnectionsPerUid)`,
      );
      core.refuseAtHello(
        session,
        ErrorCode.LIMIT,
        `too many connections from uid ${uid} (limit ${perUid})`,
      );
    } else if (!this.#connectAllowed(session)) {
      // refused by the access policy (counted, answered at its HELLO)
    } else {
      if (uid !== undefined) {
        this.#perUid.set(uid, (this.#perUid.get(uid) ?? 0) + 1);
        this.#countedUid.set(session, uid);
      }
      session.handshakeTimer = clock.setTimeout(() => {
        if (session.state === SessionState.HANDSHAKE) {
          core.fail(session, ErrorCode.HANDSHAKE, `no HELLO within ${handshakeTimeoutMs} ms`);
        }
      }, handshakeTimeoutMs);
    }
    // PUB, the hot path, is parsed in place; other frames get a view of their body.
    const onFrame = (buf: Uint8Array, start: number, end: number): void => {
      if (buf[start] === Op.PUB && session.open) {
        session.msgsIn++;
        onPub(core, session, buf, start, end);
      } else this.#onFrame(session, buf.subarray(start, end));
    };
    const feed = (bytes: Uint8Array): void => {
      try {
        session.decoder.pushRanges(bytes, onFrame);
      } catch (err) {
        this.#frameFailed(session, err);
      }
    };
    return {
      data: (chunk) => {
        if (session.state >= SessionState.CLOSING) return;
        session.noteInput(clock.now());
        // A plain Uint8Array view: frame views cut from it are cheaper than Buffer slices.
        let bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        if (session.text !== undefined) {
          const tooLong = session.text.push(bytes);
          if (tooLong !== null) core.fail(session, ErrorCode.FRAME_TOO_LARGE, tooLong);
        } else if (!session.sniffed) {
          // The first bytes: a binary HELLO, or a text line (socat, nc)?
          if (session.firstByte !== undefined) bytes = concat2(session.firstByte, bytes);
          session.firstByte = undefined;
          const kind = sniff(bytes);
          session.sniffed = kind !== 'more';
          if (kind === 'more') session.firstByte = bytes.slice();
          else if (kind === 'text') this.#startText(session, feed, bytes);
          else feed(bytes);
        } else feed(bytes);
        // A small read is latency-bound traffic (a request, a reply, a trickle): write what it
        // produced now. A large read is a stream: batch its output to the end of the turn.
        if (core.hasDirty) {
          if (chunk.length <= FLUSH_NOW_BYTES) core.flushAll();
          else core.requestFlush();
        }
      },
      drain: () => {
        session.out.waitingDrain = false;
        core.flushSession(session);
      },
      close: () => this.#closed(session),
      end: () => {
        if (session.text !== undefined) session.text.eof();
        else session.conn.end();
      },
    };
  }

  /**
   * Turns `s` into a text-mode session: its output is rendered as lines, its lines become
   * frames, and it is greeted as a client named "text" (a refused one gets its ERROR as a line).
   */
  #startText(s: Session, feed: (frame: Uint8Array) => void, first: Uint8Array): void {
    const core = this.#core;
    const conn = new TextConn(s.conn);
    s.conn = conn;
    conn.onPing = () => feed(TEXT_PONG);
    s.text = new TextInput(
      conn,
      feed,
      (frame) => core.reply(s, frame),
      (frame) => core.push(s, frame, 0),
      core.options.maxFrame,
    );
    feed(TEXT_HELLO);
    if (s.state !== SessionState.READY) return;
    const tooLong = s.text.push(first);
    if (tooLong !== null) core.fail(s, ErrorCode.FRAME_TOO_LARGE, tooLong);
  }

  /**
   * Applies the access policy's connect rules to a new session and gives it its view of the
   * policy; false when it is refused (BUS_ERR_PERMISSION in answer to its HELLO).
   */
  #connectAllowed(s: Session): boolean {
    const core = this.#core;
    const who = { uid: s.conn.peer?.uid, gid: s.conn.peer?.gid };
    const c = connectAllowed(core.policy, who);
    if (!c.ok) {
      core.countDenial('connect');
      core.options.log(`client ${s.id}: connect denied for uid ${who.uid ?? '?'} (${c.why})`);
      core.refuseAtHello(
        s,
        ErrorCode.PERMISSION,
        `connect: denied by the access policy for uid ${who.uid ?? '?'} (${c.why})`,
      );
      return false;
    }
    s.policy = new SessionPolicy(core.policy, who);
    return true;
  }

  /**
   * Replaces the access policy (a config reload). Connected clients keep their connection and
   * their subscriptions; every later operation is checked against the new rules.
   */
  setPolicy(policy: Policy): void {
    const core = this.#core;
    core.policy = policy;
    for (const s of core.sessions.values()) {
      s.policy = new SessionPolicy(policy, { uid: s.conn.peer?.uid, gid: s.conn.peer?.gid });
    }
  }

  /** The transport could not accept a connection (out of fds): counted, logged once a second. */
  acceptFailed(code: string): void {
    this.#core.acceptErrors.acceptFailed(code);
  }

  /** What `status` answers. */
  status(): BrokerStatus {
    return brokerStatus(this.#core);
  }

  /**
   * A producer inside the daemon (an event source): what it publishes comes from the daemon,
   * and flow control calls `control.pause()` while a subscriber it feeds is behind, `resume()`
   * once it drained. close() it when the source goes away.
   */
  producer(control: ProducerControl): DaemonProducer {
    return new DaemonProducer(this.#core, control);
  }

  /** Publishes a daemon event as JSON on `subject` (`$SYS.…`); nothing without subscribers. */
  sysEvent(subject: string, body: Record<string, unknown>): void {
    sysEvent(this.#core, subject, body);
  }

  /** Makes the `source.*` control calls reach the daemon's event sources. */
  setSources(host: SourceHost): void {
    this.#core.sources = host;
  }

  /**
   * Starts a timer owned by the daemon (from its config file); throws BusError like the
   * `timer.start` call (BAD_SUBJECT, CONFLICT, LIMIT).
   */
  startTimer(spec: TimerSpec): TimerInfo {
    const problem = subjectProblem(spec.subject, false);
    if (problem !== null)
      throw new BusError(ErrorCode.BAD_SUBJECT, `timer ${spec.name}: ${problem}`);
    return this.#core.timers.start(spec, this.#core.options.self?.uid);
  }

  /** The state values marked `persist` and the revision counter, for the daemon's state file. */
  persistedState(): PersistedState {
    return this.#core.state.persisted();
  }

  /**
   * Restores persisted state (before clients connect): values keep their revisions and the
   * counter continues after them. Returns the entries skipped (bad key, over a limit) and why.
   */
  loadState(state: PersistedState): { key: string; why: string }[] {
    return this.#core.state.load(state, this.#core.self);
  }

  /**
   * Sets each value whose key has none yet (the config file's `[[preload]]`, after the state
   * file was loaded), as the daemon. Returns the entries skipped and why.
   */
  preloadState(
    entries: readonly { key: string; value: Uint8Array; type?: number; persist?: boolean }[],
  ): { key: string; why: string }[] {
    const core = this.#core;
    const skipped: { key: string; why: string }[] = [];
    for (const e of entries) {
      if (core.state.get(e.key) !== undefined) continue;
      try {
        const opts = { type: e.type, persist: e.persist === true, ifRevision: undefined };
        core.state.set(e.key, e.value, opts, core.self);
      } catch (err) {
        skipped.push({ key: e.key, why: err instanceof Error ? err.message : String(err) });
      }
    }
    return skipped;
  }

  #frameFailed(s: Session, err: unknown): void {
    if (err instanceof BusError) {
      const code = isWireErrorCode(err.code) ? err.code : ErrorCode.PROTOCOL;
      const when = s.state === SessionState.HANDSHAKE ? ' before HELLO' : '';
      this.#core.fail(s, code, `${err.message}${when}`);
    } else {
      this.#core.options.log(
        `client ${s.id}: internal error: ${(err as Error).stack ?? String(err)}`,
      );
      this.#core.fail(s, ErrorCode.PROTOCOL, 'internal error while handling a frame');
    }
  }

  #onFrame(s: Session, body: Uint8Array): void {
    const core = this.#core;
    if (!s.open) {
      if (s.state !== SessionState.HANDSHAKE) return;
      const refused = s.refusal;
      if (refused === undefined) onHello(core, s, body);
      else core.fail(s, refused.code, refused.message, undefined, true);
      return;
    }
    s.msgsIn++;
    switch (body[0]) {
      case Op.PUB:
        onPub(core, s, body, 0, body.length);
        return;
      case Op.REQ:
        onReq(core, s, body);
        return;
      case Op.RES:
        onRes(core, s, body);
        return;
      case Op.SEND:
        onSend(core, s, body);
        return;
      case Op.SUB:
        onSub(core, s, body);
        return;
      case Op.UNSUB:
        onUnsub(core, s, body);
        return;
      case Op.CALL:
        onCall(core, s, body);
        return;
      case Op.PING:
        core.reply(s, PONG);
        return;
      case Op.PONG:
        return;
      case Op.HELLO:
        throw new BusError(ErrorCode.PROTOCOL, 'HELLO sent twice');
      default:
        throw new BusError(ErrorCode.PROTOCOL, `unknown op ${hex2(body[0] ?? 0)}`);
    }
  }

  /** The uid whose connections are limited for `conn`, or undefined (no limit, exempt, unknown). */
  #uidToCount(conn: Conn): number | undefined {
    const { maxConnectionsPerUid, exemptUids } = this.#core.options;
    const uid = conn.peer?.uid;
    return maxConnectionsPerUid > 0 && uid !== undefined && !exemptUids.includes(uid)
      ? uid
      : undefined;
  }

  /** The transport says the connection is gone: forget the session and everything it held. */
  #closed(s: Session): void {
    const core = this.#core;
    if (!s.markClosed()) return;
    const uid = this.#countedUid.get(s);
    if (uid !== undefined) {
      const left = (this.#perUid.get(uid) ?? 1) - 1;
      if (left > 0) this.#perUid.set(uid, left);
      else this.#perUid.delete(uid);
    }
    core.options.clock.clearTimeout(s.handshakeTimer);
    core.sessions.delete(s.id);
    removeAllSubs(core, s);
    dropNames(core, s);
    const { queued, batched } = s.discardOutput();
    core.dropped += queued.length + batched;
    // Requests this session had to answer fail at once for their requesters.
    for (const p of core.pending.responderGone(s)) {
      if (p.requester.open) {
        const gone = encodeReply(p.reqId, ReplyStatus.RESPONDER_GONE, 0, s.sender, EMPTY);
        core.push(p.requester, gone, 255);
      }
    }
    forget(core, s);
    if (s.greeted) {
      const lost = queued.length;
      core.options.log(
        `client ${s.id} disconnected${lost > 0 ? ` (${lost} queued messages dropped)` : ''}`,
      );
      sysDisconnect(core, s, s.dropped + lost);
    }
    if (this.#closing && core.sessions.size === 0) this.#onEmpty?.();
  }

  /**
   * Graceful stop: refuses new clients, tells every client the daemon is going away, flushes
   * every TX queue, and resolves when all are closed or `timeoutMs` passed (then destroys the rest).
   * Returns how many queued messages were dropped at the deadline.
   */
  async shutdown(timeoutMs: number): Promise<{ dropped: number }> {
    const core = this.#core;
    const clock = core.options.clock;
    this.#closing = true;
    this.#keepalive.stop();
    core.timers.stopAll();
    core.acceptErrors.stop();
    for (const s of core.sessions.values()) {
      if (s.state === SessionState.HANDSHAKE) {
        core.fail(s, ErrorCode.SHUTDOWN, 'the daemon is shutting down');
      } else if (s.open) {
        // Queued at priority 0: what was queued before it is still delivered.
        s.beginClose();
        s.pushFrame(
          encodeError({
            code: ErrorCode.SHUTDOWN,
            message: 'the daemon is shutting down',
            fatal: true,
          }),
        );
        core.flushSession(s);
      }
    }
    if (core.sessions.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = clock.setTimeout(resolve, timeoutMs);
        this.#onEmpty = () => {
          clock.clearTimeout(timer);
          resolve();
        };
      });
    }
    let dropped = 0;
    for (const s of [...core.sessions.values()]) {
      dropped += s.queuedMsgs;
      s.conn.destroy();
      this.#closed(s);
    }
    core.pending.clear();
    return { dropped };
  }
}

function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
