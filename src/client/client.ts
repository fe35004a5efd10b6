// The udsbus client: the public Client class and its verbs (publish, subscribe, serve, request,
// send, broadcast, flush, call, close, input flow control), composed from the connection, the
// outbox, request correlation, the responder and inbound dispatch. Imports node:events, protocol/, client/.

import { EventEmitter } from 'node:events';
import { toBytes } from '../protocol/bytes.js';
import {
  encodeCall,
  encodeSub,
  encodeUnsub,
  type ServerHello,
} from '../protocol/control-frames.js';
import { BusError, ErrorCode } from '../protocol/errors.js';
import { STATUS_PAGE, type BrokerStatus } from '../protocol/status.js';
import { NO_EXTRAS, encodeExtras } from '../protocol/extras.js';
import { encodeReq, encodeSend, pubFrameSize, writePub } from '../protocol/message-frames.js';
import { Connection } from './connection.js';
import { Inbound } from './inbound.js';
import {
  resolveOptions,
  type ClientMetrics,
  type ConnectOptions,
  type PublishOptions,
  type RequestOptions,
  type ResolvedOptions,
  type SubscribeOptions,
} from './options.js';
import { Outbox } from './outbox.js';
import { Registry, SubjectCheck, checkFrameSize, priorityOf } from './registry.js';
import { PendingCalls, PendingRequests, checkTimeout, type Reply } from './requests.js';
import { Responder, type ServeHandler } from './responder.js';
import { wholeStatus } from './status.js';
import type { SourceInfo, TimerInfo, TriggerResult } from '../protocol/commands.js';
import {
  checkDaemonName,
  sourceArgs,
  timerArgs,
  triggerArgs,
  type SourceOptions,
  type TimerOptions,
} from './commands.js';
import { Subscription, type Msg } from './subscription.js';
import {
  Watch,
  checkRevision,
  checkStateKey,
  keysPage,
  stateEvent,
  valueResult,
  writeResult,
  type SetOptions,
  type StateEvent,
  type StateKeyInfo,
  type StateValue,
  type StateWrite,
} from './state.js';
import { STATE_PREFIX, StateOp } from '../protocol/state.js';

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
  #registry = new Registry();
  #subjects = new SubjectCheck();
  #requests: PendingRequests;
  #calls = new PendingCalls();
  /** Service names claimed (not refused) and not released: claimed again after a reconnect. */
  #claims = new Map<string, Record<string, unknown>>();
  #inbound: Inbound;
  #conn: Connection;

  constructor(options: ConnectOptions = {}) {
    super();
    const o = (this.#o = resolveOptions(options));
    this.path = o.path;
    this.name = o.name;
    this.#outbox = new Outbox(o, () => this.emit('drain'));
    this.#requests = new PendingRequests(o.clock);
    const registry = this.#registry;
    const outbox = this.#outbox;
    this.#conn = new Connection(o, {
      frame: (buf, start, end) => inbound.frame(buf, start, end),
      registrations: () => registry.registrations(),
      up: (link, again) => {
        outbox.attach(link);
        if (again) {
          this.emit('reconnect');
          registry.reconnected();
          this.#reclaim();
        }
      },
      down: () => {
        outbox.detach();
        this.#requests.failAll(ErrorCode.DISCONNECTED, 'connection lost');
        this.#calls.failAll(ErrorCode.DISCONNECTED, 'connection lost');
      },
      send: (frame) => outbox.append(frame, false),
      writable: () => outbox.maybeDrain(),
      disconnected: (err) => this.emit('disconnect', err),
      finished: (err, wasClosed) => {
        outbox.discard();
        registry.endAll();
        if (!wasClosed && err !== undefined && err.code !== ErrorCode.CLOSED)
          this.emit('disconnect', err);
        this.emit('close', err);
      },
    });
    const inbound = (this.#inbound = new Inbound({
      registry,
      requests: this.#requests,
      calls: this.#calls,
      responder: new Responder((frame) => this.#queueMsg(frame)),
      connection: this.#conn,
      events: this,
    }));
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

  /** Queues a message frame; false past the high-water mark. */
  #queueMsg(frame: Uint8Array): boolean {
    if (this.#conn.closed) throw closedError();
    checkFrameSize(frame.length, this.#conn.maxFrame);
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
    this.#subjects.check(subject, false);
    const payload = toBytes(data);
    const priority = priorityOf(options?.priority);
    const extras =
      options?.type === undefined && options?.headers === undefined
        ? NO_EXTRAS
        : encodeExtras(options);
    const size = pubFrameSize(subject, payload.length, extras);
    checkFrameSize(size, this.#conn.maxFrame);
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
    current = false,
  ): Subscription {
    this.#subjects.check(subject, true);
    this.#subjects.queue(options.queue);
    const maxBuffered = options.maxBuffered ?? this.#o.maxBuffered;
    if (!Number.isInteger(maxBuffered) || maxBuffered < 1)
      throw new RangeError('maxBuffered must be a positive integer');
    if (this.#conn.closed) throw closedError();
    const sid = this.#registry.nextSid();
    const sub = new Subscription(sid, subject, {
      queue: options.queue,
      onSlow: options.onSlow,
      maxBuffered,
      current,
      monitor: options.monitor,
      callback,
      unsubscribe: (s) => {
        this.#registry.remove(s.sid);
        if (this.#conn.online) this.#queueControl(encodeUnsub(s.sid));
      },
      onUserError: this.#inbound.userError,
    });
    this.#registry.add(sub, handler);
    if (this.#conn.online) this.#queueControl(encodeSub(this.#registry.fields(sub)));
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
    this.#subjects.check(subject, false);
    if (this.#conn.closed) throw closedError();
    const timeoutMs = checkTimeout(options.timeoutMs ?? 5000);
    const reqId = this.#requests.nextId();
    const frame = encodeReq(
      reqId,
      timeoutMs,
      subject,
      toBytes(data),
      priorityOf(options.priority),
      options,
    );
    checkFrameSize(frame.length, this.#conn.maxFrame);
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

  /**
   * Sends a direct message to one client id (returns false past the high-water mark), or to the
   * owner of a service name written `@NAME` (looked up first: returns a promise, rejected with
   * BUS_ERR_NOT_FOUND when nobody owns the name).
   */
  send(clientId: number, data: Uint8Array | string, options?: PublishOptions): boolean;
  send(name: `@${string}`, data: Uint8Array | string, options?: PublishOptions): Promise<boolean>;
  send(
    clientId: number | `@${string}`,
    data: Uint8Array | string,
    options: PublishOptions = {},
  ): boolean | Promise<boolean> {
    if (typeof clientId === 'string') {
      return this.nameOwner(clientId.slice(1)).then((o) => this.send(o.id, data, options));
    }
    if (!Number.isInteger(clientId) || clientId <= 0 || clientId > 0xffffffff)
      throw new RangeError('clientId must be a positive integer');
    return this.#queueMsg(
      encodeSend(clientId, toBytes(data), priorityOf(options.priority), options),
    );
  }

  /** Sends a message to every other connected client. */
  broadcast(data: Uint8Array | string, options: PublishOptions = {}): boolean {
    return this.#queueMsg(encodeSend(0, toBytes(data), priorityOf(options.priority), options));
  }

  /** Calls `handler` for every direct or broadcast message; returns a function that stops it. */
  onDirect(handler: (msg: Msg) => void): () => void {
    return this.#inbound.onDirect(handler);
  }

  /** Resolves once the daemon has processed everything sent before this call (a PING round trip). */
  flush(): Promise<void> {
    if (this.#conn.closed) return Promise.reject(closedError());
    return new Promise<void>((resolve) => this.#conn.flush(resolve));
  }

  /**
   * Claims the service name `name` (one owner at a time; docs/API.md "Service names"). Free: this
   * client owns it. Owned: with `replace`, it takes over when the owner claimed it with
   * `allowReplacement`; else with `queue` it waits in line (ownership passes in order when the
   * owner releases or disconnects); else the result is 'exists'. Claims are made again after a
   * reconnect. `$SYS.owner.NAME` announces every change.
   */
  async claim(name: string, options: ClaimOptions = {}): Promise<ClaimResult> {
    const args = {
      name,
      replace: options.replace ?? false,
      queue: options.queue ?? false,
      allowReplacement: options.allowReplacement ?? false,
    };
    const r = (await this.call('name.claim', args)) as ClaimResult;
    if (r.result !== 'exists') this.#claims.set(name, args);
    return r;
  }

  /** Gives up a service name, owned or waited for; false when this client held neither. */
  async release(name: string): Promise<boolean> {
    this.#claims.delete(name);
    return ((await this.call('name.release', { name })) as { released: boolean }).released;
  }

  /** The owner of a service name; rejects with BUS_ERR_NOT_FOUND when nobody owns it. */
  async nameOwner(name: string): Promise<{ id: number; name: string }> {
    return (await this.call('name.owner', { name })) as { id: number; name: string };
  }

  /** Every service name on the bus with its owner and who waits in line. */
  async names(): Promise<NameInfo[]> {
    return (await this.call('name.list')) as NameInfo[];
  }

  #reclaim(): void {
    for (const args of this.#claims.values()) {
      this.call('name.claim', args).catch((err: unknown) => this.emit('error', err));
    }
  }

  /** Calls a daemon control operation (`status`, `echo`, `timer.start`, ...). */
  call(op: string, args: Record<string, unknown> = {}): Promise<unknown> {
    if (this.#conn.closed) return Promise.reject(closedError());
    const { cid, result } = this.#calls.add();
    this.#queueControl(encodeCall(cid, op, args));
    return result;
  }

  /**
   * The daemon's whole `status`, every page of clients and patterns joined (see status.ts);
   * `pageSize` clients and patterns per call, default 500.
   */
  status(pageSize = STATUS_PAGE): Promise<BrokerStatus> {
    return wholeStatus((args) => this.call('status', args), pageSize);
  }

  // -------------------------------------------------------------------------------------------
  // Daemon commands: docs/API.md "Daemon commands", docs/PROTOCOL.md section 6.12

  /** The daemon sends `data` back (a round trip through the daemon). */
  async echo(data: Uint8Array | string): Promise<Uint8Array> {
    const r = (await this.call('echo', { data: toBytes(data) })) as { data?: unknown };
    return r.data instanceof Uint8Array ? r.data : new Uint8Array(0);
  }

  /**
   * Starts a daemon timer publishing a tick every `intervalMs` on `timer.<name>` (or
   * `options.subject`). Rejects with BUS_ERR_CONFLICT when the name runs already, BUS_ERR_LIMIT
   * below the daemon's shortest interval or past its number of timers.
   */
  async startTimer(
    name: string,
    intervalMs: number,
    options: TimerOptions = {},
  ): Promise<TimerInfo> {
    return (await this.call('timer.start', timerArgs(name, intervalMs, options))) as TimerInfo;
  }

  /** Stops a daemon timer; rejects with BUS_ERR_NOT_FOUND when none of that name runs. */
  async stopTimer(name: string): Promise<TimerInfo> {
    checkDaemonName('timer', name);
    return (await this.call('timer.stop', { name })) as TimerInfo;
  }

  /** The daemon's running timers, by name. */
  async timers(): Promise<TimerInfo[]> {
    return (await this.call('timer.ls')) as TimerInfo[];
  }

  /** Has the daemon publish `data` on `event.<event>` (sender: the daemon). */
  async trigger(event: string, data?: Uint8Array | string): Promise<TriggerResult> {
    return (await this.call('trigger', triggerArgs(event, data))) as TriggerResult;
  }

  /**
   * Has the daemon read an event source and publish its records; only the daemon's own user
   * (or root) may (else BUS_ERR_PERMISSION).
   */
  async addSource(source: SourceOptions): Promise<SourceInfo> {
    return (await this.call('source.add', sourceArgs(source))) as SourceInfo;
  }

  /** Stops an event source; rejects with BUS_ERR_NOT_FOUND when there is none of that name. */
  async removeSource(name: string): Promise<SourceInfo> {
    checkDaemonName('source', name);
    return (await this.call('source.rm', { name })) as SourceInfo;
  }

  /** The daemon's event sources with their counters. */
  async sources(): Promise<SourceInfo[]> {
    return (await this.call('source.ls')) as SourceInfo[];
  }

  // -------------------------------------------------------------------------------------------
  // Shared state (retained values): docs/API.md "Shared state", docs/PROTOCOL.md section 10.9

  /**
   * Sets `key` (dotted like a subject) to `value`; resolves to the change's revision. Rejects
   * with BUS_ERR_CONFLICT when `ifRevision` is stale, BUS_ERR_LIMIT past a limit of the store,
   * BUS_ERR_BAD_SUBJECT for a bad key. Watchers of the key see the change.
   */
  async set(
    key: string,
    value: Uint8Array | string,
    options: SetOptions = {},
  ): Promise<StateWrite> {
    checkStateKey(key);
    const args: Record<string, unknown> = { key, value: toBytes(value) };
    const ifRevision = checkRevision(options.ifRevision);
    if (options.type !== undefined) args['type'] = encodeExtras({ type: options.type }).type;
    if (ifRevision !== undefined) args['ifRevision'] = ifRevision;
    if (options.persist === true) args['persist'] = true;
    return writeResult(await this.call(StateOp.SET, args), StateOp.SET);
  }

  /** The value of `key`; rejects with BUS_ERR_NOT_FOUND when it has none. */
  async get(key: string): Promise<StateValue> {
    checkStateKey(key);
    return valueResult(await this.call(StateOp.GET, { key }));
  }

  /**
   * Deletes `key` (the deletion takes a revision, which watchers see); rejects with
   * BUS_ERR_NOT_FOUND when it has no value, BUS_ERR_CONFLICT when `ifRevision` is stale.
   */
  async delete(key: string, options: { ifRevision?: number } = {}): Promise<StateWrite> {
    checkStateKey(key);
    const ifRevision = checkRevision(options.ifRevision);
    const args: Record<string, unknown> = { key };
    if (ifRevision !== undefined) args['ifRevision'] = ifRevision;
    return writeResult(await this.call(StateOp.DELETE, args), StateOp.DELETE);
  }

  /** Every key matching the key pattern (default `>`: all), sorted; asks page by page. */
  async keys(pattern = '>'): Promise<StateKeyInfo[]> {
    checkStateKey(pattern, true);
    const out: StateKeyInfo[] = [];
    let after = '';
    for (;;) {
      const page = keysPage(await this.call(StateOp.KEYS, { pattern, after }));
      out.push(...page.keys);
      if (page.next === null) return out;
      after = page.next;
    }
  }

  /**
   * Watches the keys matching `pattern` (`*` one token, `>` the rest): first their current
   * values (`current: true`, again after each reconnect), then every change and deletion, each
   * with its revision. With a handler, events go to it; without, iterate the returned Watch.
   */
  watch(
    pattern: string,
    handler?: ((ev: StateEvent) => void) | SubscribeOptions,
    options?: SubscribeOptions,
  ): Watch {
    if (typeof handler === 'object') {
      options = handler;
      handler = undefined;
    }
    checkStateKey(pattern, true);
    if (options?.queue !== undefined) throw new TypeError('a watch cannot join a queue group');
    const h = handler;
    const callback =
      h === undefined
        ? undefined
        : (msg: Msg): void => {
            const ev = stateEvent(msg);
            if (ev !== undefined) h(ev);
          };
    const sub = this.#register(STATE_PREFIX + pattern, options ?? {}, callback, undefined, true);
    return new Watch(pattern, sub);
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
      received: this.#inbound.received,
      reconnects: this.#conn.reconnects,
    };
  }

  /**
   * Closes the client. With `drainTimeoutMs` (default 2000), first waits until everything queued
   * has reached the daemon (or the timeout passed; what is left is counted as failed).
   */
  async close(options: { drainTimeoutMs?: number } = {}): Promise<void> {
    if (this.#conn.closed) return;
    await this.#conn.drain(options.drainTimeoutMs ?? 2000);
    if (this.#conn.closed) return;
    this.#requests.failAll(ErrorCode.CLOSED, 'the client was closed');
    await this.#conn.close();
  }
}

/** Options of Client.claim(). */
export interface ClaimOptions {
  /** Take the name from its owner if that owner claimed it with allowReplacement. */
  replace?: boolean;
  /** Wait in line when the name is owned (default false: the claim is refused, 'exists'). */
  queue?: boolean;
  /** Let a later `replace` claim take the name from this client. */
  allowReplacement?: boolean;
}

/** What a claim got, and the name's owner afterwards. */
export interface ClaimResult {
  result: 'owner' | 'queued' | 'exists' | 'already';
  owner: number;
}

/** One service name in Client.names(). */
export interface NameInfo {
  name: string;
  owner: number;
  ownerName: string;
  queue: number[];
}
