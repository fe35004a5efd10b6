// The udsbus client: the public Client class and its verbs (publish, subscribe, serve, request,
// send, broadcast, flush, call, close, input flow control), composed from the connection, the
// outbox, request correlation, the responder and inbound dispatch. Imports protocol/ and transport/.

import { EventEmitter } from 'node:events';
import { toBytes } from '../protocol/bytes.js';
import {
  encodeCall,
  encodeSub,
  encodeUnsub,
  type ServerHello,
  type SubFields,
} from '../protocol/control-frames.js';
import { BusError, ErrorCode } from '../protocol/errors.js';
import { NO_EXTRAS, encodeExtras, type MessageExtras } from '../protocol/extras.js';
import { encodeReq, encodeSend, pubFrameSize, writePub } from '../protocol/message-frames.js';
import { subjectProblem } from '../protocol/subject.js';
import { varintSize } from '../protocol/varint.js';
import { Connection } from './connection.js';
import { Inbound, type InboundTarget } from './inbound.js';
import {
  resolveOptions,
  type ConnectOptions,
  type ResolvedOptions,
  type SubscribeOptions,
} from './options.js';
import { Outbox } from './outbox.js';
import { PendingCalls, PendingRequests, type Reply } from './requests.js';
import { Responder, type ServeHandler } from './responder.js';
import { Subscription, type Msg } from './subscription.js';

/** Options of `publish`, `send`, `broadcast`, `request`. */
export interface PublishOptions extends MessageExtras {
  /** 0..255; higher overtakes lower in queues not yet written. Default 0. */
  priority?: number;
}

export interface RequestOptions extends PublishOptions {
  /** Default 5000 ms. */
  timeoutMs?: number;
}

/** Client counters (uds-ipc style). */
export interface ClientMetrics {
  /** Messages written to the link and flushed by it. */
  sent: number;
  /** Messages refused because the send queue was full (BufferFullError). */
  dropped: number;
  /** Messages lost in a broken connection (written, but not flushed when it broke). */
  failed: number;
  /** Messages queued, not yet flushed. */
  queueDepth: number;
  /** Bytes queued, not yet flushed. */
  queuedBytes: number;
  /** Messages received (subscriptions, direct, replies). */
  received: number;
  /** Times the link was re-established. */
  reconnects: number;
}

/** Connects to the daemon; resolves once the handshake is done. */
export async function connect(options: ConnectOptions = {}): Promise<Client> {
  const client = new Client(options);
  await client.ready;
  return client;
}

const closedError = (): BusError => new BusError(ErrorCode.CLOSED, 'the client is closed');

/**
 * A connection to the bus. Events: `drain` (send queue below its high-water mark again),
 * `disconnect` (BusError), `reconnect`, `direct` (Msg), `error` (BusError, non-fatal daemon
 * errors such as BUS_ERR_NO_SUCH_CLIENT), `close`.
 */
export class Client extends EventEmitter {
  readonly path: string;
  readonly name: string;
  /** Resolves after the first handshake. */
  readonly ready: Promise<void>;
  #o: ResolvedOptions;
  #outbox: Outbox;
  #subs = new Map<number, Subscription>();
  #serves = new Map<number, ServeHandler>();
  #requests: PendingRequests;
  #calls = new PendingCalls();
  #state: InboundTarget;
  #conn: Connection;
  #directHandlers: ((msg: Msg) => void)[] = [];
  #nextSid = 1;
  #validSubjects = new Set<string>();

  constructor(options: ConnectOptions = {}) {
    super();
    const o = (this.#o = resolveOptions(options));
    this.path = o.path;
    this.name = o.name;
    this.#outbox = new Outbox(o, () => this.emit('drain'));
    this.#requests = new PendingRequests(o.clock);
    const subs = this.#subs;
    const serves = this.#serves;
    const outbox = this.#outbox;
    this.#conn = new Connection(o, {
      frame: (buf, start, end) => inbound.frame(buf, start, end),
      *registrations(): Iterable<SubFields> {
        for (const s of subs.values())
          yield {
            sid: s.sid,
            subject: s.subject,
            queue: s.queue,
            serve: serves.has(s.sid),
            onSlow: s.onSlow,
          };
      },
      up: (link, again) => {
        outbox.attach(link);
        if (again) this.emit('reconnect');
      },
      down: () => {
        outbox.detach();
        this.#requests.failAll(
          ErrorCode.DISCONNECTED,
          (s) => `connection lost while waiting for a reply on ${s}`,
        );
        this.#calls.failAll(
          new BusError(ErrorCode.DISCONNECTED, 'connection lost during a control call'),
        );
      },
      send: (frame) => outbox.append(frame, false),
      writable: () => outbox.maybeDrain(),
      disconnected: (err) => this.emit('disconnect', err),
      finished: (err, wasClosed) => {
        outbox.discard();
        for (const sub of subs.values()) sub.end();
        if (!wasClosed && err !== undefined && err.code !== ErrorCode.CLOSED)
          this.emit('disconnect', err);
        this.emit('close', err);
      },
    });
    this.#state = {
      subs,
      serves,
      requests: this.#requests,
      calls: this.#calls,
      responder: new Responder((frame) => {
        if (this.#conn.closed) throw closedError();
        this.#checkFrame(frame.length);
        outbox.append(frame, true);
      }),
      connection: this.#conn,
      received: 0,
      direct: (msg) => this.#onDirect(msg),
      report: (err) => {
        if (this.listenerCount('error') > 0) this.emit('error', err);
        else process.emitWarning(`udsbus: ${err.code}: ${err.message}`);
      },
    };
    const inbound = new Inbound(this.#state);
    this.ready = this.#conn.ready;
  }

  /** This client's id on the bus (assigned by the daemon at each handshake). */
  get id(): number {
    return this.#conn.server?.id ?? 0;
  }

  /** What the daemon said in its HELLO. */
  get server(): ServerHello | undefined {
    return this.#conn.server;
  }

  get connected(): boolean {
    return this.#conn.online;
  }

  get closed(): boolean {
    return this.#conn.closed;
  }

  /** True while input is paused (pauseInput). */
  get inputPaused(): boolean {
    return this.#conn.inputPaused;
  }

  /**
   * Stops reading from the daemon until resumeInput(): nothing is delivered, and the daemon
   * sees a slow reader (its slow-consumer policy applies). Keepalive waits meanwhile.
   */
  pauseInput(): void {
    this.#conn.pauseInput();
  }

  /** Reads from the daemon again after pauseInput(). */
  resumeInput(): void {
    this.#conn.resumeInput();
  }

  /**
   * An exception thrown by application code (a callback or listener) while a message was being
   * delivered. It never breaks the link: it goes to 'error' listeners, or is rethrown outside
   * the client's stack like any uncaught exception.
   */
  #userError = (err: unknown): void => {
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else
      setImmediate(() => {
        throw err;
      });
  };

  #onDirect(msg: Msg): void {
    try {
      for (const h of this.#directHandlers) h(msg);
      this.emit('direct', msg);
    } catch (err) {
      this.#userError(err);
    }
  }

  #checkSubject(subject: string, wildcards: boolean): void {
    if (typeof subject !== 'string') throw new TypeError('subject must be a string');
    if (!wildcards && this.#validSubjects.has(subject)) return;
    const problem = subjectProblem(subject, wildcards);
    if (problem !== null) throw new BusError(ErrorCode.BAD_SUBJECT, problem);
    if (!wildcards && this.#validSubjects.size < 10_000) this.#validSubjects.add(subject);
  }

  #priority(p: number | undefined): number {
    if (p === undefined) return 0;
    if (!Number.isInteger(p) || p < 0 || p > 255)
      throw new RangeError('priority must be an integer from 0 to 255');
    return p;
  }

  /** Refuses a frame whose body would exceed the daemon's limit (`size` includes the length prefix). */
  #checkFrame(size: number): void {
    const max = this.#conn.maxFrame;
    const body = size - varintSize(size);
    if (body > max)
      throw new BusError(
        ErrorCode.FRAME_TOO_LARGE,
        `message of ${body} bytes exceeds the daemon's frame limit of ${max} bytes`,
      );
  }

  /** Queues a message frame; false past the high-water mark. */
  #queueMsg(frame: Uint8Array): boolean {
    if (this.#conn.closed) throw closedError();
    this.#checkFrame(frame.length);
    return this.#outbox.append(frame, true);
  }

  #queueControl(frame: Uint8Array): void {
    this.#outbox.append(frame, false);
  }

  /**
   * Publishes `data` on `subject`. Returns false once the send queue is past its high-water mark
   * (wait for 'drain'); throws BufferFullError when the queue is full (the message is counted as dropped).
   */
  publish(subject: string, data: Uint8Array | string, options?: PublishOptions): boolean {
    this.#checkSubject(subject, false);
    const payload = toBytes(data);
    const priority = this.#priority(options?.priority);
    const extras =
      options?.type === undefined && options?.headers === undefined
        ? NO_EXTRAS
        : encodeExtras(options);
    const size = pubFrameSize(subject, payload.length, extras);
    this.#checkFrame(size);
    if (this.#conn.closed) throw closedError();
    const buf = this.#outbox.reserve(size, true);
    return this.#outbox.commit(
      writePub(buf, this.#outbox.offset, subject, payload, priority, extras),
      true,
    );
  }

  /** Subscribes to a subject pattern (`*` one token, `>` the rest). */
  subscribe(
    subject: string,
    callback?: ((msg: Msg) => void) | SubscribeOptions,
    options?: SubscribeOptions,
  ): Subscription {
    if (typeof callback === 'object') {
      options = callback;
      callback = undefined;
    }
    return this.#register(subject, options ?? {}, callback, undefined);
  }

  /**
   * Answers requests on `subject`: the handler's return value (or resolved value) is the reply;
   * a throw or rejection becomes a BUS_ERR_RESPONDER_FAILED reply with the error's message.
   * Each request goes to exactly one responder among all that serve a matching subject.
   */
  serve(subject: string, handler: ServeHandler, options: SubscribeOptions = {}): Subscription {
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    return this.#register(subject, options, undefined, handler);
  }

  #register(
    subject: string,
    options: SubscribeOptions,
    callback: ((msg: Msg) => void) | undefined,
    handler: ServeHandler | undefined,
  ): Subscription {
    this.#checkSubject(subject, true);
    if (options.queue !== undefined && subjectProblem(options.queue, false) !== null)
      throw new BusError(
        ErrorCode.BAD_SUBJECT,
        `bad queue group name ${JSON.stringify(options.queue)}`,
      );
    const maxBuffered = options.maxBuffered ?? this.#o.maxBuffered;
    if (!Number.isInteger(maxBuffered) || maxBuffered < 1)
      throw new RangeError('maxBuffered must be a positive integer');
    if (this.#conn.closed) throw closedError();
    const sid = this.#nextSid++;
    const sub = new Subscription(sid, subject, {
      queue: options.queue,
      onSlow: options.onSlow,
      maxBuffered,
      callback,
      unsubscribe: (s) => {
        this.#subs.delete(s.sid);
        this.#serves.delete(s.sid);
        if (this.#conn.online) this.#queueControl(encodeUnsub(s.sid));
      },
      onUserError: this.#userError,
    });
    this.#subs.set(sid, sub);
    if (handler !== undefined) this.#serves.set(sid, handler);
    if (this.#conn.online)
      this.#queueControl(
        encodeSub({
          sid,
          subject,
          queue: options.queue,
          serve: handler !== undefined,
          onSlow: options.onSlow,
        }),
      );
    return sub;
  }

  /**
   * Sends a request to exactly one responder. Rejects at once with NO_RESPONDERS if there is
   * none, BAD_SUBJECT if the daemon refuses the subject, TIMEOUT after `timeoutMs`.
   */
  async request(
    subject: string,
    data: Uint8Array | string,
    options: RequestOptions = {},
  ): Promise<Reply> {
    this.#checkSubject(subject, false);
    if (this.#conn.closed) throw closedError();
    const timeoutMs = options.timeoutMs ?? 5000;
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > 0xffffffff)
      throw new RangeError('timeoutMs must be a positive integer');
    const reqId = this.#requests.nextId();
    const frame = encodeReq(
      reqId,
      timeoutMs,
      subject,
      toBytes(data),
      this.#priority(options.priority),
      options,
    );
    this.#checkFrame(frame.length);
    const reply = this.#requests.add(reqId, subject, timeoutMs);
    try {
      this.#queueMsg(frame);
    } catch (err) {
      this.#requests.fail(
        reqId,
        err instanceof BusError ? err : new BusError(ErrorCode.PROTOCOL, String(err)),
      );
    }
    return reply;
  }

  /** Sends a direct message to one client id. Returns false past the high-water mark. */
  send(clientId: number, data: Uint8Array | string, options: PublishOptions = {}): boolean {
    if (!Number.isInteger(clientId) || clientId <= 0 || clientId > 0xffffffff)
      throw new RangeError('clientId must be a positive integer');
    return this.#queueMsg(
      encodeSend(clientId, toBytes(data), this.#priority(options.priority), options),
    );
  }

  /** Sends a message to every other connected client. */
  broadcast(data: Uint8Array | string, options: PublishOptions = {}): boolean {
    return this.#queueMsg(encodeSend(0, toBytes(data), this.#priority(options.priority), options));
  }

  /** Calls `handler` for every direct or broadcast message; returns a function that stops it. */
  onDirect(handler: (msg: Msg) => void): () => void {
    this.#directHandlers.push(handler);
    return () => {
      this.#directHandlers = this.#directHandlers.filter((h) => h !== handler);
    };
  }

  /** Resolves once the daemon has processed everything sent before this call (a PING round trip). */
  flush(): Promise<void> {
    if (this.#conn.closed) return Promise.reject(closedError());
    return new Promise<void>((resolve) => this.#conn.flush(resolve));
  }

  /** Calls a daemon control operation (`status`, `echo`). */
  call(op: string, args: Record<string, unknown> = {}): Promise<unknown> {
    if (this.#conn.closed) return Promise.reject(closedError());
    const { cid, result } = this.#calls.add();
    this.#queueControl(encodeCall(cid, op, args));
    return result;
  }

  /** Counters: sent, dropped, failed, queue depth, bytes. */
  metrics(): ClientMetrics {
    const ob = this.#outbox;
    return {
      sent: ob.sent,
      dropped: ob.dropped,
      failed: ob.failed,
      queueDepth: ob.queuedMsgs,
      queuedBytes: ob.queuedBytes,
      received: this.#state.received,
      reconnects: this.#conn.reconnects,
    };
  }

  /**
   * Closes the client. With `drainTimeoutMs` (default 2000), first waits until everything queued
   * has reached the daemon (or the timeout passed; what is left is counted as failed).
   */
  async close(options: { drainTimeoutMs?: number } = {}): Promise<void> {
    if (this.#conn.closed) return;
    const drainTimeoutMs = options.drainTimeoutMs ?? 2000;
    const clock = this.#o.clock;
    if (this.#conn.online && drainTimeoutMs > 0) {
      let timer: unknown;
      await Promise.race([
        this.flush().catch(() => undefined),
        new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, drainTimeoutMs))),
      ]);
      clock.clearTimeout(timer);
    }
    if (this.#conn.closed) return;
    this.#requests.failAll(ErrorCode.CLOSED, () => 'the client was closed');
    await this.#conn.close();
  }
}
