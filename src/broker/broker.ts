// The routing core: sessions, handshake, pub/sub with wildcards and queue groups, request/reply
// to exactly one responder, direct and broadcast messages, control calls, flow control.
// Talks to peers only through Conn. Imports only protocol/ and broker/.

import { BusError, ErrorCode, isWireErrorCode, type WireErrorCode } from '../protocol/errors.js';
import { copyBytes, readU32, readU64, writeU32, writeU64 } from '../protocol/bytes.js';
import {
  Flag,
  Op,
  PROTOCOL_VERSION,
  ReplyStatus,
  ResStatus,
  type SlowPolicyValue,
} from '../protocol/constants.js';
import {
  decodeCall,
  decodeClientHello,
  decodeSub,
  decodeUnsub,
  encodeBare,
  encodeCallReply,
  encodeError,
  encodeHello,
  helloVersion,
} from '../protocol/control-frames.js';
import { ENVELOPE_FIXED, encodeGap, encodeReply } from '../protocol/delivery-frames.js';
import { checkTail } from '../protocol/extras.js';
import { subjectProblem } from '../protocol/subject.js';
import { varintSize, writeVarint } from '../protocol/varint.js';
import type { Conn, ConnEvents } from './conn.js';
import { Session, SessionState, Sub } from './session.js';
import { Slab } from './slab.js';
import { SubjectCache } from '../protocol/subject-cache.js';
import { SubjectIndex, type Route } from './subject-index.js';

/** Limits and defaults of a broker; every field has a documented default. */
export interface BrokerOptions {
  /** Largest frame body accepted or sent, bytes. Default 1 MiB. */
  maxFrame?: number;
  /** TX queue bound per connection, bytes. Default 16 MiB. */
  maxQueueBytes?: number;
  /** TX queue bound per connection, messages. Default 100,000. */
  maxQueueMsgs?: number;
  /** How long a `disconnect` subscriber may stay over its bound before it is cut off. Default 2000 ms. */
  slowGraceMs?: number;
  /**
   * Flow-control window per connection, bytes: once a client has more than this pending, the
   * daemon stops reading from the producers sending to it (lossless deliveries only: `disconnect`
   * subscriptions, requests, replies, direct messages) until it drains to half. Keeps the daemon
   * on its fast path instead of buffering up to maxQueueBytes. Clamped to maxQueueBytes.
   * Default 512 KiB.
   */
  flowWindowBytes?: number;
  /**
   * The longest a client may hold its producers paused by the flow window, ms. A client that
   * has not drained by then stops pacing them until it does: its queue may grow to
   * maxQueueBytes, where its slow-consumer policy applies. Default 100 ms.
   */
  flowWaitMs?: number;
  /** Time allowed for the client HELLO. Default 5000 ms. */
  handshakeTimeoutMs?: number;
  /** Subscriptions per connection. Default 10,000. */
  maxSubscriptions?: number;
  /** Requests awaiting an answer per responder. Default 65,536. */
  maxPendingRequests?: number;
  /** Keepalive: the daemon PINGs every client this often, ms (0 = off). Default 0. */
  pingMs?: number;
  /** Keepalive: a client that leaves this many PINGs unanswered is disconnected. Default 2. */
  maxPingsOut?: number;
  /** Disconnect a client that sends nothing for this long, ms (0 = never). Default 0. */
  idleTimeoutMs?: number;
  /** Version string reported in HELLO and status. */
  serverVersion?: string;
  /** Lifecycle log lines (connect, disconnect, errors). */
  log?: (line: string) => void;
  /** Defers the batched flush; default setImmediate (once per event-loop turn). */
  schedule?: (fn: () => void) => void;
}

type Required2<T> = { [K in keyof T]-?: T[K] };

const DEFAULTS: Required2<Omit<BrokerOptions, 'log' | 'schedule'>> = {
  maxFrame: 1024 * 1024,
  maxQueueBytes: 16 * 1024 * 1024,
  maxQueueMsgs: 100_000,
  slowGraceMs: 2000,
  flowWindowBytes: 512 * 1024,
  flowWaitMs: 100,
  handshakeTimeoutMs: 5000,
  maxSubscriptions: 10_000,
  maxPendingRequests: 65_536,
  pingMs: 0,
  maxPingsOut: 2,
  idleTimeoutMs: 0,
  serverVersion: '0.0.0',
};

/** One client in `status`. */
export interface ClientStatus {
  id: number;
  name: string;
  pid: number | null;
  subscriptions: number;
  queuedBytes: number;
  queuedMsgs: number;
  msgsIn: number;
  msgsOut: number;
  dropped: number;
  connectedMs: number;
}

/** The answer to the `status` control call. */
export interface BrokerStatus {
  server: string;
  version: string;
  protocol: number;
  uptimeMs: number;
  clients: ClientStatus[];
  subjects: { subject: string; subscribers: number; responders: number }[];
  totals: { msgsIn: number; msgsDelivered: number; dropped: number; pendingRequests: number };
}

interface Pending {
  requester: Session;
  reqId: number;
  responder: Session;
  deadline: number;
}

const PUB_FLAGS = Flag.TYPE | Flag.HEADERS;

const EMPTY = new Uint8Array(0);
/** Output of a read up to this size is written at once instead of at the end of the turn. */
const FLUSH_NOW_BYTES = 4096;

/** The message broker; attach a Conn per client. */
export class Broker {
  readonly options: Required2<Omit<BrokerOptions, 'log' | 'schedule'>>;
  readonly startedAt = Date.now();
  #log: (line: string) => void;
  #schedule: (fn: () => void) => void;
  #sessions = new Map<number, Session>();
  #nextId = 1;
  #subs = new SubjectIndex<Sub>();
  #responders = new SubjectIndex<Sub>();
  #pending = new Map<number, Pending>();
  #nextToken = 1;
  #nextMsgId = 1;
  #dirty: Session[] = [];
  #slab = new Slab();
  #subjects = new SubjectCache();
  #flushScheduled = false;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #closing = false;
  /** Flow-control window in bytes (0 = off), see BrokerOptions.flowWindowBytes. */
  readonly #window: number;
  #msgsIn = 0;
  #delivered = 0;
  #dropped = 0;

  constructor(options: BrokerOptions = {}) {
    const o = { ...DEFAULTS };
    for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
      const v = options[key];
      if (v !== undefined) (o as Record<string, unknown>)[key] = v;
    }
    this.options = o;
    this.#window = Math.min(o.flowWindowBytes, o.maxQueueBytes);
    this.#log = options.log ?? (() => undefined);
    this.#schedule = options.schedule ?? ((fn) => setImmediate(fn));
    this.#sweepTimer = setInterval(() => this.#sweep(), 1000);
    this.#sweepTimer.unref?.();
    if (this.options.pingMs > 0) {
      this.#pingTimer = setInterval(() => this.#ping(), this.options.pingMs);
      this.#pingTimer.unref?.();
    }
  }

  /** Number of connected sessions. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Registers a new connection; the transport forwards its events to the returned handlers. */
  attach(conn: Conn): ConnEvents {
    const session = new Session(this.#nextId++, conn, this.options.maxFrame);
    this.#sessions.set(session.id, session);
    if (this.#closing) {
      this.#fail(session, ErrorCode.SHUTDOWN, 'the daemon is shutting down');
    } else {
      session.handshakeTimer = setTimeout(() => {
        if (session.state === SessionState.HANDSHAKE) {
          this.#fail(
            session,
            ErrorCode.HANDSHAKE,
            `no HELLO within ${this.options.handshakeTimeoutMs} ms`,
          );
        }
      }, this.options.handshakeTimeoutMs);
      session.handshakeTimer.unref?.();
    }
    // PUB, the hot path, is parsed in place; other frames get a view of their body.
    const onFrame = (buf: Uint8Array, start: number, end: number): void => {
      if (buf[start] === Op.PUB && session.state === SessionState.READY) {
        session.msgsIn++;
        this.#onPub(session, buf, start, end);
      } else this.#onFrame(session, buf.subarray(start, end));
    };
    return {
      data: (chunk) => {
        if (session.state >= SessionState.CLOSING) return;
        session.bytesIn += chunk.length;
        session.lastInput = Date.now();
        session.pingsOut = 0;
        try {
          // A plain Uint8Array view: frame views cut from it are cheaper than Buffer slices.
          session.decoder.pushRanges(
            new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength),
            onFrame,
          );
        } catch (err) {
          if (err instanceof BusError)
            this.#fail(
              session,
              isWireErrorCode(err.code) ? err.code : ErrorCode.PROTOCOL,
              err.message,
            );
          else {
            this.#log(
              `client ${session.id}: internal error: ${(err as Error).stack ?? String(err)}`,
            );
            this.#fail(session, ErrorCode.PROTOCOL, 'internal error while handling a frame');
          }
        }
        // A small read is latency-bound traffic (a request, a reply, a trickle): write what it
        // produced now. A large read is a stream: batch its output to the end of the turn.
        if (this.#dirty.length > 0) {
          if (chunk.length <= FLUSH_NOW_BYTES) this.#flushAll();
          else this.#requestFlush();
        }
      },
      drain: () => {
        session.waitingDrain = false;
        this.#flushSession(session);
      },
      close: () => this.#closed(session),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Frame dispatch

  #onFrame(s: Session, body: Uint8Array): void {
    if (s.state !== SessionState.READY) {
      if (s.state === SessionState.HANDSHAKE) this.#onHello(s, body);
      return;
    }
    s.msgsIn++;
    switch (body[0]) {
      case Op.PUB:
        this.#onPub(s, body, 0, body.length);
        return;
      case Op.REQ:
        this.#onReq(s, body);
        return;
      case Op.RES:
        this.#onRes(s, body);
        return;
      case Op.SEND:
        this.#onSend(s, body);
        return;
      case Op.SUB:
        this.#onSub(s, body);
        return;
      case Op.UNSUB:
        this.#onUnsub(s, body);
        return;
      case Op.CALL:
        this.#onCall(s, body);
        return;
      case Op.PING:
        this.#push(s, encodeBare(Op.PONG));
        return;
      case Op.PONG:
        return;
      case Op.HELLO:
        throw new BusError(ErrorCode.PROTOCOL, 'HELLO sent twice');
      default:
        throw new BusError(
          ErrorCode.PROTOCOL,
          `unknown op 0x${(body[0] ?? 0).toString(16).padStart(2, '0')}`,
        );
    }
  }

  #onHello(s: Session, body: Uint8Array): void {
    const version = helloVersion(body);
    if (version !== PROTOCOL_VERSION) {
      this.#fail(
        s,
        ErrorCode.VERSION,
        `protocol version ${version} is not supported; this daemon speaks version ${PROTOCOL_VERSION}`,
        { client: version, server: PROTOCOL_VERSION },
      );
      return;
    }
    const hello = decodeClientHello(body);
    clearTimeout(s.handshakeTimer);
    s.name = hello.name;
    s.pid = hello.pid;
    s.state = SessionState.READY;
    s.greeted = true;
    this.#push(
      s,
      encodeHello(PROTOCOL_VERSION, {
        server: 'udsbus',
        version: this.options.serverVersion,
        id: s.id,
        maxFrame: this.options.maxFrame,
        pingMs: this.options.pingMs,
        maxQueueBytes: this.options.maxQueueBytes,
        maxQueueMsgs: this.options.maxQueueMsgs,
      }),
    );
    this.#log(`client ${s.id} connected (name ${JSON.stringify(s.name)}, pid ${s.pid ?? '?'})`);
    this.#sysEvent('$SYS.connect', { id: s.id, name: s.name, pid: s.pid ?? null });
  }

  /** PUB: `0x10 | flags | priority | subjectLen | subject | tail`. */
  #onPub(s: Session, buf: Uint8Array, start: number, end: number): void {
    const len = end - start;
    if (len < 4) throw new BusError(ErrorCode.PROTOCOL, 'PUB: truncated');
    const slen = buf[start + 3]!;
    const tailStart = start + 4 + slen;
    if (end < tailStart) throw new BusError(ErrorCode.PROTOCOL, 'PUB: truncated');
    const flags = buf[start + 1]!;
    if (flags !== 0) checkTail(buf, tailStart, flags, PUB_FLAGS, end);
    const subject = this.#subjects.get(buf, start + 4, tailStart);
    const route = this.#route(this.#subs, s, subject);
    if (route === null) return;
    this.#msgsIn++;
    if (route.empty) return;
    const id = this.#nextMsgId++;
    const priority = buf[start + 2]!;
    if (priority === 0 && route.all.length === 1 && route.plain.length === 1) {
      // One subscriber: serialize straight from the PUB bytes when its queue is empty.
      const sub = route.plain[0]!;
      const off = this.#batchMsg(sub, len + 11);
      if (off >= 0) {
        const out = sub.session.batch;
        out[off] = flags;
        out[off + 1] = priority;
        writeU32(out, off + 2, s.id);
        writeU64(out, off + 6, id);
        copyBytes(out, off + 14, buf, start + 3, end);
        this.#paceSub(s, sub);
        return;
      }
    }
    // Envelope: flags | priority | from | id | subjectLen | subject | tail (PUB bytes from 3 on).
    const env = this.#slab.alloc(len + 11);
    env[0] = flags;
    env[1] = priority;
    writeU32(env, 2, s.id);
    writeU64(env, 6, id);
    copyBytes(env, 14, buf, start + 3, end);
    this.#fanOut(s, route, env, priority, id);
  }

  #fanOut(
    producer: Session | null,
    route: Route<Sub>,
    env: Uint8Array,
    priority: number,
    id: number,
  ): void {
    const plain = route.plain;
    for (let i = 0; i < plain.length; i++) this.#deliver(producer, plain[i]!, env, priority, id);
    const groups = route.groups;
    for (let g = 0; g < groups.length; g++) {
      const members = groups[g]!;
      const c = route.cursors[g]! % members.length;
      route.cursors[g] = c + 1;
      this.#deliver(producer, members[c]!, env, priority, id);
    }
  }

  /** Queues one message for a subscription, applying its slow-consumer policy. */
  #deliver(
    producer: Session | null,
    sub: Sub,
    env: Uint8Array,
    priority: number,
    id: number,
  ): void {
    const t = sub.session;
    if (t.state !== SessionState.READY) return;
    if (priority === 0) {
      const off = this.#batchMsg(sub, env.length);
      if (off >= 0) {
        t.batch.set(env, off);
        this.#paceSub(producer, sub);
        return;
      }
    }
    const q = t.txq;
    if (
      q.bytes + t.batchBytes >= this.options.maxQueueBytes ||
      q.length + t.batchMsgs >= this.options.maxQueueMsgs
    ) {
      if (!this.#makeRoom(producer, sub, id)) return;
    }
    q.push(priority, sub.sid, env, id);
    sub.delivered++;
    t.delivered++;
    this.#delivered++;
    if (!t.scheduled) this.#markDirty(t);
    this.#paceSub(producer, sub);
  }

  /**
   * Fast path: when `sub`'s session keeps up, reserves a MSG frame for an envelope of `envLen`
   * bytes in its write batch, writes `varint(len) | 0x11 | varint(sid)`, counts the delivery and
   * returns where the envelope goes. Returns -1 when the message must take the TX queue.
   */
  #batchMsg(sub: Sub, envLen: number): number {
    const t = sub.session;
    const frameBody = 1 + (sub.sid < 0x80 ? 1 : varintSize(sub.sid)) + envLen;
    const size = varintSize(frameBody) + frameBody;
    const whileSaturated = sub.policy !== 'drop-oldest';
    if (!t.fastPath(size, this.options.maxQueueBytes, this.options.maxQueueMsgs, whileSaturated))
      return -1;
    let off = t.reserve(size);
    const out = t.batch;
    off = writeVarint(out, off, frameBody);
    out[off++] = Op.MSG;
    off = writeVarint(out, off, sub.sid);
    sub.delivered++;
    t.delivered++;
    this.#delivered++;
    if (!t.scheduled) this.#markDirty(t);
    return off;
  }

  /** The queue of `sub`'s session is full. Returns true when the new message may be queued. */
  #makeRoom(producer: Session | null, sub: Sub, id: number): boolean {
    const t = sub.session;
    switch (sub.policy) {
      case 'drop-oldest': {
        const dropped = t.txq.dropOldest((sid) => t.subs.get(sid)?.policy === 'drop-oldest');
        if (dropped !== null) {
          const victim = t.subs.get(dropped.sid);
          if (victim !== undefined) this.#countLoss(victim, dropped.id);
          return true;
        }
        this.#countLoss(sub, id);
        return false;
      }
      case 'drop-newest':
        this.#countLoss(sub, id);
        return false;
      default: {
        // disconnect: during the grace period the consumer is given time, not losses: the
        // message is queued and its producer paused until the consumer drains. A consumer
        // still over its bound when the grace period ends is cut off (and its queue counted).
        const now = Date.now();
        if (t.slowSince === 0) {
          t.slowSince = now;
          this.#sysEvent('$SYS.slow', {
            id: t.id,
            name: t.name,
            subject: sub.subject,
            policy: sub.policy,
            queuedBytes: t.txq.bytes,
          });
        }
        if (now - t.slowSince >= this.options.slowGraceMs) {
          this.#countLoss(sub, id);
          this.#slowDisconnect(t);
          return false;
        }
        if (producer === null) {
          this.#countLoss(sub, id); // daemon events never wait
          return false;
        }
        this.#block(producer, t);
        return true;
      }
    }
  }

  #countLoss(sub: Sub, id: number): void {
    if (sub.gapLost === 0) {
      sub.gapFirst = id;
      sub.session.gaps.add(sub);
      if (sub.dropped === 0 || sub.session.gaps.size === 1) {
        this.#sysEvent('$SYS.slow', {
          id: sub.session.id,
          name: sub.session.name,
          subject: sub.subject,
          policy: sub.policy,
          queuedBytes: sub.session.txq.bytes,
        });
      }
    }
    sub.gapLost++;
    sub.gapLast = id;
    sub.dropped++;
    sub.session.dropped++;
    this.#dropped++;
  }

  #slowDisconnect(t: Session): void {
    const lost = t.txq.clear();
    for (const d of lost) {
      const sub = t.subs.get(d.sid);
      if (sub !== undefined) this.#countLoss(sub, d.id);
    }
    // Batched messages carry no per-subscription record: they count for the client and in total.
    const batched = t.clearBatch();
    t.dropped += batched;
    this.#dropped += batched;
    this.#log(
      `client ${t.id}: slow consumer, disconnected after ${this.options.slowGraceMs} ms over its queue bound`,
    );
    this.#fail(
      t,
      ErrorCode.SLOW_CONSUMER,
      `slow consumer: queue stayed over its bound for ${this.options.slowGraceMs} ms`,
    );
  }

  /** REQ: `0x12 | flags | priority | reqId u32 | timeoutMs u32 | subjectLen | subject | tail`. */
  #onReq(s: Session, body: Uint8Array): void {
    if (body.length < 12) throw new BusError(ErrorCode.PROTOCOL, 'REQ: truncated');
    const flags = body[1]!;
    const priority = body[2]!;
    const reqId = readU32(body, 3);
    const timeoutMs = readU32(body, 7);
    const slen = body[11]!;
    const tailStart = 12 + slen;
    if (body.length < tailStart) throw new BusError(ErrorCode.PROTOCOL, 'REQ: truncated subject');
    if (flags !== 0) checkTail(body, tailStart, flags, PUB_FLAGS);
    const subject = this.#subjects.get(body, 12, tailStart);
    const route = this.#route(this.#responders, s, subject);
    if (route === null) return;
    this.#msgsIn++;
    if (route.empty) {
      this.#push(s, encodeReply(reqId, ReplyStatus.NO_RESPONDERS, 0, 0, EMPTY), 255);
      return;
    }
    const all = route.all;
    let sub: Sub | undefined;
    for (let tries = 0; tries < all.length; tries++) {
      const c = route.cursor++ % all.length;
      const cand = all[c]!;
      if (cand.session.open && cand.session.answering.size < this.options.maxPendingRequests) {
        sub = cand;
        break;
      }
    }
    if (sub === undefined) {
      this.#push(s, encodeReply(reqId, ReplyStatus.NO_RESPONDERS, 0, 0, EMPTY), 255);
      return;
    }
    const token = this.#nextToken++;
    const responder = sub.session;
    this.#pending.set(token, {
      requester: s,
      reqId,
      responder,
      deadline: Date.now() + (timeoutMs === 0 ? 3_600_000 : timeoutMs),
    });
    responder.answering.add(token);
    const id = this.#nextMsgId++;
    // Envelope with the reply token after the subject.
    const tail = body.subarray(tailStart);
    const env = this.#slab.alloc(ENVELOPE_FIXED + slen + 8 + tail.length);
    env[0] = flags | Flag.REPLY;
    env[1] = priority;
    writeU32(env, 2, s.id);
    writeU64(env, 6, id);
    env[14] = slen;
    env.set(body.subarray(12, tailStart), 15);
    writeU64(env, 15 + slen, token);
    env.set(tail, 23 + slen);
    this.#deliverReliable(s, responder, priority, sub.sid, env, id);
    sub.delivered++;
  }

  /** RES: `0x13 | flags | status | token u64 | tail`. */
  #onRes(s: Session, body: Uint8Array): void {
    if (body.length < 11) throw new BusError(ErrorCode.PROTOCOL, 'RES: truncated');
    const flags = body[1]!;
    const status = body[2]!;
    if (status !== ResStatus.OK && status !== ResStatus.ERROR) {
      throw new BusError(ErrorCode.PROTOCOL, `RES: unknown status ${status}`);
    }
    checkTail(body, 11, flags, PUB_FLAGS);
    const token = readU64(body, 3);
    const p = this.#pending.get(token);
    if (p === undefined || p.responder !== s) return; // expired, or the requester left
    this.#pending.delete(token);
    s.answering.delete(token);
    if (!p.requester.open) return;
    const frame = encodeReply(
      p.reqId,
      status === ResStatus.OK ? ReplyStatus.OK : ReplyStatus.ERROR,
      flags,
      s.id,
      body.subarray(11),
    );
    this.#deliverReliable(s, p.requester, 255, -1, frame, 0);
  }

  /** SEND: `0x14 | flags | priority | to u32 | tail`; to 0 broadcasts. */
  #onSend(s: Session, body: Uint8Array): void {
    if (body.length < 7) throw new BusError(ErrorCode.PROTOCOL, 'SEND: truncated');
    const flags = body[1]!;
    const priority = body[2]!;
    const to = readU32(body, 3);
    checkTail(body, 7, flags, PUB_FLAGS);
    const id = this.#nextMsgId++;
    this.#msgsIn++;
    const tail = body.subarray(7);
    const env = this.#slab.alloc(ENVELOPE_FIXED + tail.length);
    env[0] = flags | (to === 0 ? Flag.BROADCAST : 0);
    env[1] = priority;
    writeU32(env, 2, s.id);
    writeU64(env, 6, id);
    env[14] = 0;
    env.set(tail, ENVELOPE_FIXED);
    if (to === 0) {
      for (const t of this.#sessions.values()) {
        if (t !== s && t.open) this.#deliverReliable(s, t, priority, 0, env, id);
      }
      return;
    }
    const t = this.#sessions.get(to);
    if (t === undefined || !t.open) {
      this.#push(
        s,
        encodeError({
          code: ErrorCode.NO_SUCH_CLIENT,
          message: `no client with id ${to}`,
          fatal: false,
        }),
      );
      return;
    }
    this.#deliverReliable(s, t, priority, 0, env, id);
  }

  /**
   * Queues a message that must not be dropped. When the target's queue is over its bound, the
   * producer stops being read until the target drains (the EPOLLIN/EPOLLOUT switch).
   */
  #deliverReliable(
    producer: Session,
    t: Session,
    priority: number,
    sid: number,
    buf: Uint8Array,
    id: number,
  ): void {
    if (!t.open) return;
    t.txq.push(priority, sid, buf, id);
    t.delivered++;
    this.#delivered++;
    if (!t.scheduled) this.#markDirty(t);
    if (
      t.txq.bytes + t.batchBytes > this.options.maxQueueBytes ||
      t.txq.length + t.batchMsgs > this.options.maxQueueMsgs
    ) {
      this.#block(producer, t);
    } else if (t.pending > this.#window) {
      this.#pace(producer, t);
    }
  }

  /** Stops reading from `producer` until `t`'s queue has room again (the EPOLLIN/EPOLLOUT switch). */
  #block(producer: Session, t: Session): void {
    if (producer === t || t.waiters.has(producer)) return;
    t.waiters.add(producer);
    producer.blockedBy.add(t);
    if (producer.blockedBy.size === 1) producer.conn.pause();
  }

  /** Flow control after a delivery to `sub`: only `disconnect` subscriptions pace producers. */
  #paceSub(producer: Session | null, sub: Sub): void {
    if (sub.session.pending > this.#window && producer !== null && sub.policy === 'disconnect') {
      this.#pace(producer, sub.session);
    }
  }

  /**
   * Flow control: `t` has more than the window pending, so `producer` is not read until `t`
   * drains to half of it, for flowWaitMs at most. A client that does not drain in time stops
   * pacing (`paceExpired`) until it does; its queue may then grow to the bound and its policy
   * applies, so a stuck consumer never holds a producer for long.
   */
  #pace(producer: Session, t: Session): void {
    if (this.#window === 0 || t.paceExpired || producer === t || t.waiters.has(producer)) return;
    this.#block(producer, t);
    t.paceTimer ??= setTimeout(() => {
      t.paceTimer = undefined;
      t.paceExpired = true;
      if (t.pending <= this.options.maxQueueBytes && t.waiters.size > 0) this.#releaseWaiters(t);
    }, this.options.flowWaitMs);
    t.paceTimer.unref?.();
  }

  #onSub(s: Session, body: Uint8Array): void {
    const f = decodeSub(body);
    const problem = subjectProblem(f.subject, true);
    if (problem !== null) {
      this.#push(
        s,
        encodeError({
          code: ErrorCode.BAD_SUBJECT,
          message: problem,
          fatal: false,
          detail: { sid: f.sid },
        }),
      );
      return;
    }
    if (f.queue !== undefined && subjectProblem(f.queue, false) !== null) {
      this.#push(
        s,
        encodeError({
          code: ErrorCode.BAD_SUBJECT,
          message: `bad queue group name ${JSON.stringify(f.queue)}`,
          fatal: false,
          detail: { sid: f.sid },
        }),
      );
      return;
    }
    if (s.subs.has(f.sid))
      throw new BusError(ErrorCode.PROTOCOL, `SUB: sid ${f.sid} is already in use`);
    if (s.subs.size >= this.options.maxSubscriptions) {
      this.#push(
        s,
        encodeError({
          code: ErrorCode.LIMIT,
          message: `more than ${this.options.maxSubscriptions} subscriptions`,
          fatal: false,
          detail: { sid: f.sid },
        }),
      );
      return;
    }
    const policy: SlowPolicyValue = f.onSlow ?? 'disconnect';
    const sub = new Sub(s, f.sid, f.subject, f.queue, f.serve === true, policy);
    s.subs.set(f.sid, sub);
    (sub.serve ? this.#responders : this.#subs).add(sub);
  }

  #onUnsub(s: Session, body: Uint8Array): void {
    const sid = decodeUnsub(body);
    const sub = s.subs.get(sid);
    if (sub === undefined) return;
    this.#removeSub(sub);
  }

  #removeSub(sub: Sub): void {
    sub.session.subs.delete(sub.sid);
    sub.session.gaps.delete(sub);
    (sub.serve ? this.#responders : this.#subs).remove(sub);
  }

  #onCall(s: Session, body: Uint8Array): void {
    const call = decodeCall(body);
    let reply: Uint8Array;
    switch (call.op) {
      case 'status':
        reply = encodeCallReply({ cid: call.cid, ok: true, result: this.status() });
        break;
      case 'echo':
        reply = encodeCallReply({ cid: call.cid, ok: true, result: call.args });
        break;
      default:
        reply = encodeCallReply({
          cid: call.cid,
          ok: false,
          result: undefined,
          code: ErrorCode.UNKNOWN_OP,
          message: `unknown control operation ${JSON.stringify(call.op)}`,
        });
    }
    this.#push(s, reply);
  }

  /** Validates and routes a literal subject; sends a non-fatal error and returns null if bad. */
  #route(index: SubjectIndex<Sub>, s: Session, subject: string): Route<Sub> | null {
    const problem = subjectProblem(subject, false);
    if (problem !== null) {
      this.#push(s, encodeError({ code: ErrorCode.BAD_SUBJECT, message: problem, fatal: false }));
      return null;
    }
    return index.match(subject);
  }

  // -------------------------------------------------------------------------------------------
  // Output

  #push(s: Session, frame: Uint8Array, priority = 0): void {
    if (s.state === SessionState.CLOSED) return;
    s.pushFrame(frame, priority);
    if (!s.scheduled) this.#markDirty(s);
  }

  #markDirty(s: Session): void {
    s.scheduled = true;
    this.#dirty.push(s);
    this.#requestFlush();
  }

  #requestFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    this.#schedule(this.#flushAll);
  }

  #flushAll = (): void => {
    this.#flushScheduled = false;
    const dirty = this.#dirty;
    this.#dirty = [];
    for (const s of dirty) {
      s.scheduled = false;
      this.#flushSession(s);
    }
  };

  #flushSession(s: Session): void {
    const emptied = s.flush();
    const pending = s.pending;
    const roomy =
      pending <= this.options.maxQueueBytes / 2 &&
      s.txq.length + s.batchMsgs <= this.options.maxQueueMsgs / 2;
    if (roomy) {
      s.slowSince = 0;
      if (s.gaps.size > 0) this.#sendGaps(s);
      // Producers paced by the window resume at half of it; once a client stopped pacing (it
      // did not drain in time), those blocked by the bound resume at half of the bound.
      if (pending <= this.#window / 2) {
        s.paceExpired = false;
        if (s.waiters.size > 0) this.#releaseWaiters(s);
      } else if (s.paceExpired && s.waiters.size > 0) this.#releaseWaiters(s);
    }
    if (emptied && s.state === SessionState.CLOSING) s.conn.end();
  }

  #sendGaps(s: Session): void {
    for (const sub of s.gaps) {
      s.pushFrame(encodeGap(sub.sid, sub.gapLost, sub.gapFirst, sub.gapLast));
      sub.gapLost = 0;
    }
    s.gaps.clear();
    s.flush();
  }

  #releaseWaiters(t: Session): void {
    clearTimeout(t.paceTimer);
    t.paceTimer = undefined;
    for (const p of t.waiters) {
      p.blockedBy.delete(t);
      if (p.blockedBy.size === 0 && p.state !== SessionState.CLOSED) p.conn.resume();
    }
    t.waiters.clear();
  }

  /** Sends a fatal error, then closes the session once the error is written. */
  #fail(s: Session, code: WireErrorCode, message: string, detail?: Record<string, unknown>): void {
    if (s.state >= SessionState.CLOSING) return;
    const wasReady = s.state === SessionState.READY;
    s.state = SessionState.CLOSING;
    clearTimeout(s.handshakeTimer);
    s.conn.pause();
    if (wasReady || code !== ErrorCode.SHUTDOWN) {
      this.#log(`client ${s.id}: ${code}: ${message}`);
    }
    s.pushFrame(encodeError({ code, message, fatal: true, detail }), 255);
    this.#flushSession(s);
  }

  #closed(s: Session): void {
    if (s.state === SessionState.CLOSED) return;
    const wasReady = s.greeted;
    s.state = SessionState.CLOSED;
    clearTimeout(s.handshakeTimer);
    this.#sessions.delete(s.id);
    for (const sub of [...s.subs.values()]) this.#removeSub(sub);
    const lost = s.txq.clear();
    this.#dropped += lost.length + s.clearBatch();
    // Requests this session had to answer fail at once for their requesters.
    for (const token of s.answering) {
      const p = this.#pending.get(token);
      if (p === undefined) continue;
      this.#pending.delete(token);
      if (p.requester.open) {
        this.#push(
          p.requester,
          encodeReply(p.reqId, ReplyStatus.RESPONDER_GONE, 0, s.id, EMPTY),
          255,
        );
      }
    }
    s.answering.clear();
    this.#releaseWaiters(s);
    for (const t of s.blockedBy) t.waiters.delete(s);
    s.blockedBy.clear();
    if (wasReady) {
      this.#log(
        `client ${s.id} disconnected${lost.length > 0 ? ` (${lost.length} queued messages dropped)` : ''}`,
      );
      this.#sysEvent('$SYS.disconnect', {
        id: s.id,
        name: s.name,
        pid: s.pid ?? null,
        dropped: s.dropped + lost.length,
      });
    }
    if (this.#closing && this.#sessions.size === 0) this.#onEmpty?.();
  }

  /** Keepalive: PING every ready client; disconnect those that left maxPingsOut unanswered. */
  #ping(): void {
    const ping = encodeBare(Op.PING);
    for (const s of this.#sessions.values()) {
      if (!s.open) continue;
      if (s.pingsOut >= this.options.maxPingsOut) {
        this.#fail(s, ErrorCode.DISCONNECTED, `${s.pingsOut} keepalive pings unanswered`);
        continue;
      }
      s.pingsOut++;
      this.#push(s, ping, 255);
    }
  }

  #sweep(): void {
    const now = Date.now();
    const idle = this.options.idleTimeoutMs;
    if (idle > 0) {
      for (const s of this.#sessions.values()) {
        if (s.open && now - s.lastInput >= idle)
          this.#fail(s, ErrorCode.DISCONNECTED, `idle for ${idle} ms`);
      }
    }
    for (const [token, p] of this.#pending) {
      if (p.deadline <= now) {
        this.#pending.delete(token);
        p.responder.answering.delete(token);
      }
    }
    // A `disconnect` subscriber whose queue stays full gets cut off even without new traffic.
    for (const s of this.#sessions.values()) {
      if (s.slowSince !== 0 && now - s.slowSince >= this.options.slowGraceMs && s.open)
        this.#slowDisconnect(s);
    }
  }

  /** Publishes a daemon event as JSON on a `$SYS.` subject (sender id 0). */
  #sysEvent(subject: string, body: Record<string, unknown>): void {
    const route = this.#subs.match(subject);
    if (route.empty) return;
    const payload = new TextEncoder().encode(JSON.stringify(body));
    const id = this.#nextMsgId++;
    const env = this.#slab.alloc(ENVELOPE_FIXED + subject.length + payload.length);
    env[0] = 0;
    env[1] = 0;
    writeU32(env, 2, 0);
    writeU64(env, 6, id);
    env[14] = subject.length;
    for (let i = 0; i < subject.length; i++) env[15 + i] = subject.charCodeAt(i);
    env.set(payload, 15 + subject.length);
    this.#fanOut(null, route, env, 0, id);
  }

  // -------------------------------------------------------------------------------------------
  // Introspection and shutdown

  status(): BrokerStatus {
    const now = Date.now();
    const clients: ClientStatus[] = [];
    for (const s of this.#sessions.values()) {
      if (s.state !== SessionState.READY) continue;
      clients.push({
        id: s.id,
        name: s.name,
        pid: s.pid ?? null,
        subscriptions: s.subs.size,
        queuedBytes: s.txq.bytes + s.batchBytes,
        queuedMsgs: s.txq.length + s.batchMsgs,
        msgsIn: s.msgsIn,
        msgsOut: s.delivered,
        dropped: s.dropped,
        connectedMs: now - s.connectedAt,
      });
    }
    const subjects = new Map<
      string,
      { subject: string; subscribers: number; responders: number }
    >();
    for (const [subject, n] of this.#subs.patterns())
      subjects.set(subject, { subject, subscribers: n, responders: 0 });
    for (const [subject, n] of this.#responders.patterns()) {
      const e = subjects.get(subject) ?? { subject, subscribers: 0, responders: 0 };
      e.responders = n;
      subjects.set(subject, e);
    }
    return {
      server: 'udsbus',
      version: this.options.serverVersion,
      protocol: PROTOCOL_VERSION,
      uptimeMs: now - this.startedAt,
      clients,
      subjects: [...subjects.values()].sort((a, b) => (a.subject < b.subject ? -1 : 1)),
      totals: {
        msgsIn: this.#msgsIn,
        msgsDelivered: this.#delivered,
        dropped: this.#dropped,
        pendingRequests: this.#pending.size,
      },
    };
  }

  #onEmpty: (() => void) | undefined;

  /**
   * Graceful stop: refuses new clients, tells every client the daemon is going away, flushes
   * every TX queue, and resolves when all are closed or `timeoutMs` passed (then destroys the rest).
   * Returns how many queued messages were dropped at the deadline.
   */
  async shutdown(timeoutMs: number): Promise<{ dropped: number }> {
    this.#closing = true;
    clearInterval(this.#sweepTimer);
    clearInterval(this.#pingTimer);
    for (const s of this.#sessions.values()) {
      if (s.state === SessionState.HANDSHAKE) {
        this.#fail(s, ErrorCode.SHUTDOWN, 'the daemon is shutting down');
        continue;
      }
      if (s.state !== SessionState.READY) continue;
      s.state = SessionState.CLOSING;
      s.conn.pause();
      s.pushFrame(
        encodeError({
          code: ErrorCode.SHUTDOWN,
          message: 'the daemon is shutting down',
          fatal: true,
        }),
      );
      this.#flushSession(s);
    }
    if (this.#sessions.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.#onEmpty = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    let dropped = 0;
    for (const s of [...this.#sessions.values()]) {
      dropped += s.txq.length + s.batchMsgs;
      s.conn.destroy();
      this.#closed(s);
    }
    return { dropped };
  }
}
