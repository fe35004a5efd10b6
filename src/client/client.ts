// The udsbus client: one socket to the daemon, frames batched once per microtask, a bounded
// send queue with Node-style backpressure, reconnect with backoff, and the bus verbs.
// Imports protocol/ and transport/socket-path only.

import { EventEmitter } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { BufferFullError, BusError, ErrorCode } from '../protocol/errors.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { toBytes } from '../protocol/bytes.js';
import { Op, PROTOCOL_VERSION, Flag, ReplyStatus, ResStatus } from '../protocol/constants.js';
import {
  decodeCallReply,
  decodeError,
  decodeServerHello,
  encodeBare,
  encodeCall,
  encodeHello,
  encodeSub,
  encodeUnsub,
  type ServerHello,
} from '../protocol/control-frames.js';
import { decodeGap, decodeMsg, decodeMsgAt, decodeReply } from '../protocol/delivery-frames.js';
import { NO_EXTRAS, encodeExtras, type MessageExtras } from '../protocol/extras.js';
import {
  encodeReq,
  encodeRes,
  encodeSend,
  pubFrameSize,
  writePub,
} from '../protocol/message-frames.js';
import { subjectProblem } from '../protocol/subject.js';
import { varintSize } from '../protocol/varint.js';
import { defaultSocketPath, netPath } from '../transport/socket-path.js';
import { DEFAULT_SOCK_BUF, setSendBuffer } from '../transport/sock-buf.js';
import { Subscription, type Msg, type SubscribeOptions } from './subscription.js';

/** Reconnect backoff: delay = min(maxMs, minMs * factor^attempt), then +/- jitter. */
export interface ReconnectOptions {
  minMs?: number;
  maxMs?: number;
  factor?: number;
  /** Fraction of the delay added or removed at random (0..1). Default 0.2. */
  jitter?: number;
  /** Give up after this many failed attempts in a row (default: never). */
  maxAttempts?: number;
}

/** Options of `connect`. */
export interface ConnectOptions {
  /** Socket path or `@abstract`; default per `defaultSocketPath()`. */
  path?: string;
  /** Name shown in `udsbus status`. */
  name?: string;
  /** Reconnect after a lost connection (default true). `false` makes a drop final. */
  reconnect?: boolean | ReconnectOptions;
  /** Send queue bound, bytes (default 8 MiB). Past it `publish` throws BufferFullError. */
  maxQueueBytes?: number;
  /** Send queue bound, messages (default 100,000). */
  maxQueueMsgs?: number;
  /** `publish` returns false once this many bytes are queued (default 1 MiB). */
  highWaterMark?: number;
  /** Keepalive: PING every `pingMs` (default 0 = off); after `maxPingsOut` unanswered, the link is dropped. */
  pingMs?: number;
  maxPingsOut?: number;
  /** Time allowed to connect and complete the handshake (default 5000 ms). */
  connectTimeoutMs?: number;
  /** Close the link after this long with no input from the daemon (default 0 = never). */
  idleTimeoutMs?: number;
  /**
   * Send buffer (SO_SNDBUF) asked for on the socket, bytes (default 4 MiB, capped by the kernel
   * at net.core.wmem_max; 0 = the system default). Needs the native helper; without it the
   * system default stays.
   */
  sockBuf?: number;
}

/** Options of `publish`, `send`, `broadcast`, `request`. */
export interface PublishOptions extends MessageExtras {
  /** 0..255; higher overtakes lower in queues not yet written. Default 0. */
  priority?: number;
}

export interface RequestOptions extends PublishOptions {
  /** Default 5000 ms. */
  timeoutMs?: number;
}

/** A reply to a request. */
export interface Reply {
  data: Uint8Array;
  /** Client id of the responder. */
  from: number;
  type: number | undefined;
  headers: Record<string, string> | undefined;
}

/** Returned by a `serve` handler: the reply payload, optionally with extras. */
export type ServeResult =
  | Uint8Array
  | string
  | { data: Uint8Array | string; type?: number; headers?: Record<string, string> };

/** Client counters (uds-ipc style). */
export interface ClientMetrics {
  /** Messages written to the socket and flushed to the kernel. */
  sent: number;
  /** Messages refused because the send queue was full (BufferFullError). */
  dropped: number;
  /** Messages lost in a broken connection (written, but not flushed when it broke). */
  failed: number;
  /** Messages queued, not yet flushed to the kernel. */
  queueDepth: number;
  /** Bytes queued, not yet flushed to the kernel. */
  queuedBytes: number;
  /** Messages received (subscriptions, direct, replies). */
  received: number;
  /** Times the link was re-established. */
  reconnects: number;
}

interface PendingRequest {
  resolve: (r: Reply) => void;
  reject: (e: BusError) => void;
  timer: ReturnType<typeof setTimeout>;
  subject: string;
}

interface PendingCall {
  resolve: (v: unknown) => void;
  reject: (e: BusError) => void;
}

type ServeHandler = (msg: Msg) => ServeResult | Promise<ServeResult>;

/** A chunk handed to the socket, with the count of messages in it. */
interface InFlight {
  msgs: number;
  bytes: number;
}

const SCRATCH = 64 * 1024;
const SMALL_COPY = 4096;

/** Connects to the daemon; resolves once the handshake is done. */
export async function connect(options: ConnectOptions = {}): Promise<Client> {
  const client = new Client(options);
  await client.ready;
  return client;
}

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
  #opts: Required<Omit<ConnectOptions, 'path' | 'name' | 'reconnect'>>;
  #reconnect: Required<ReconnectOptions> | null;
  #socket: Socket | null = null;
  #decoder = new FrameDecoder(1024 * 1024);
  #server: ServerHello | undefined;
  #online = false;
  #closed = false;
  #closeError: BusError | undefined;
  // Outgoing batch: frames encoded in #buf[0..#off), #bufMsgs of them messages.
  #buf: Buffer = Buffer.allocUnsafe(SCRATCH);
  #off = 0;
  #bufMsgs = 0;
  #flushQueued = false;
  // Chunks written to the socket, waiting for their flush callback.
  #inFlight: InFlight[] = [];
  #inFlightBytes = 0;
  #inFlightMsgs = 0;
  // Chunks queued while offline, sent in order after reconnect.
  #offline: Uint8Array[] = [];
  #offlineMsgs: number[] = [];
  #needDrain = false;
  #nextSid = 1;
  #subs = new Map<number, Subscription>();
  #serves = new Map<number, ServeHandler>();
  #nextReq = 1;
  #requests = new Map<number, PendingRequest>();
  #nextCall = 1;
  #calls = new Map<number, PendingCall>();
  #pongs: (() => void)[] = [];
  #directHandlers: ((msg: Msg) => void)[] = [];
  #validSubjects = new Set<string>();
  #attempt = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #pingsOut = 0;
  #lastInput = 0;
  #inputPaused = false;
  #metrics: ClientMetrics = {
    sent: 0,
    dropped: 0,
    failed: 0,
    queueDepth: 0,
    queuedBytes: 0,
    received: 0,
    reconnects: 0,
  };

  constructor(options: ConnectOptions = {}) {
    super();
    this.path = options.path ?? defaultSocketPath();
    this.name = options.name ?? '';
    this.#opts = {
      maxQueueBytes: options.maxQueueBytes ?? 8 * 1024 * 1024,
      maxQueueMsgs: options.maxQueueMsgs ?? 100_000,
      highWaterMark: options.highWaterMark ?? 1024 * 1024,
      pingMs: options.pingMs ?? 0,
      maxPingsOut: options.maxPingsOut ?? 2,
      connectTimeoutMs: options.connectTimeoutMs ?? 5000,
      idleTimeoutMs: options.idleTimeoutMs ?? 0,
      sockBuf: options.sockBuf ?? DEFAULT_SOCK_BUF,
    };
    const r = options.reconnect ?? true;
    this.#reconnect =
      r === false
        ? null
        : {
            minMs: (r === true ? undefined : r.minMs) ?? 50,
            maxMs: (r === true ? undefined : r.maxMs) ?? 2000,
            factor: (r === true ? undefined : r.factor) ?? 2,
            jitter: (r === true ? undefined : r.jitter) ?? 0.2,
            maxAttempts: (r === true ? undefined : r.maxAttempts) ?? Infinity,
          };
    this.ready = new Promise<void>((resolve, reject) => {
      this.#open(resolve, reject);
    });
    // Errors before the first handshake are reported by `ready`; avoid an unhandled rejection.
    this.ready.catch(() => undefined);
  }

  /** This client's id on the bus (assigned by the daemon at each handshake). */
  get id(): number {
    return this.#server?.id ?? 0;
  }

  /** What the daemon said in its HELLO. */
  get server(): ServerHello | undefined {
    return this.#server;
  }

  get connected(): boolean {
    return this.#online;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** True between `pauseInput()` and `resumeInput()`. */
  get inputPaused(): boolean {
    return this.#inputPaused;
  }

  /**
   * Stops reading from the daemon (the socket is paused; what the current chunk holds is still
   * delivered), so a slow consumer of this client is seen by the daemon as a slow consumer.
   */
  pauseInput(): void {
    this.#inputPaused = true;
    this.#socket?.pause();
  }

  /** Reads from the daemon again after `pauseInput()`. */
  resumeInput(): void {
    this.#inputPaused = false;
    this.#socket?.resume();
  }

  // -------------------------------------------------------------------------------------------
  // Connection lifecycle

  #open(onReady?: () => void, onFail?: (e: BusError) => void): void {
    const socket = createConnection(netPath(this.path));
    this.#socket = socket;
    this.#closeError = undefined;
    this.#decoder = new FrameDecoder(1024 * 1024);
    let handshaken = false;
    const timer = setTimeout(() => {
      socket.destroy(
        new BusError(
          ErrorCode.HANDSHAKE,
          `no HELLO from the daemon within ${this.#opts.connectTimeoutMs} ms`,
        ),
      );
    }, this.#opts.connectTimeoutMs);
    const onFrame = (buf: Uint8Array, start: number, end: number): void => {
      if (handshaken) {
        // MSG, the hot path, is decoded in place; other frames get a view of their body.
        if (buf[start] === Op.MSG) this.#onMsg(decodeMsgAt(buf, start, end));
        else this.#onFrame(buf.subarray(start, end));
        return;
      }
      const body = buf.subarray(start, end);
      if (body[0] === Op.ERROR) {
        const e = decodeError(body);
        socket.destroy(new BusError(e.code, e.message));
        return;
      }
      this.#server = decodeServerHello(body);
      // A MSG carries up to 17 bytes more than the PUB it forwards.
      this.#decoder.maxFrame = this.#server.maxFrame + 64;
      handshaken = true;
      clearTimeout(timer);
      this.#online = true;
      this.#attempt = 0;
      this.#afterHandshake();
      onReady?.();
    };
    socket.on('connect', () => {
      socket.setNoDelay?.(true);
      setSendBuffer(socket, this.#opts.sockBuf);
      socket.write(
        encodeHello(PROTOCOL_VERSION, {
          name: this.name,
          pid: process.pid,
          pingMs: this.#opts.pingMs,
        }),
      );
    });
    socket.on('data', (chunk: Buffer) => {
      this.#lastInput = Date.now();
      this.#pingsOut = 0;
      try {
        // A plain Uint8Array view: frame and payload views cut from it are cheaper than Buffer
        // slices (msg.data is documented as a Uint8Array view).
        this.#decoder.pushRanges(
          new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength),
          onFrame,
        );
      } catch (err) {
        socket.destroy(
          err instanceof BusError ? err : new BusError(ErrorCode.PROTOCOL, (err as Error).message),
        );
      }
    });
    socket.on('drain', () => this.#maybeDrain());
    let failure: BusError | undefined;
    socket.on('error', (err: NodeJS.ErrnoException) => {
      failure =
        err instanceof BusError
          ? err
          : new BusError(
              ErrorCode.CONNECT,
              err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
                ? `no udsbus daemon at ${this.path} (${err.code})`
                : `socket error on ${this.path}: ${err.message}`,
              { cause: err },
            );
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (this.#socket === socket) this.#socket = null;
      if (!handshaken) {
        const e =
          failure ??
          new BusError(
            ErrorCode.CONNECT,
            `the daemon at ${this.path} closed the connection during the handshake`,
          );
        if (onFail !== undefined) {
          this.#closed = true;
          onFail(e);
          return;
        }
        this.#scheduleReconnect(e);
        return;
      }
      this.#lost(
        failure ??
          this.#closeError ??
          new BusError(ErrorCode.DISCONNECTED, `connection to ${this.path} lost`),
      );
    });
  }

  /** After each handshake: re-register subscriptions, then send what was queued offline. */
  #afterHandshake(): void {
    const socket = this.#socket!;
    // A pause asked for while offline applies once the handshake (which must be read) is done.
    if (this.#inputPaused) socket.pause();
    for (const sub of this.#subs.values()) {
      socket.write(
        encodeSub({
          sid: sub.sid,
          subject: sub.subject,
          queue: sub.queue,
          serve: this.#serves.has(sub.sid),
          onSlow: sub.onSlow,
        }),
      );
    }
    const chunks = this.#offline;
    const counts = this.#offlineMsgs;
    this.#offline = [];
    this.#offlineMsgs = [];
    for (let i = 0; i < chunks.length; i++) this.#writeChunk(chunks[i]!, counts[i]!);
    this.#startPing();
  }

  #startPing(): void {
    clearInterval(this.#pingTimer);
    const { pingMs, idleTimeoutMs } = this.#opts;
    if (pingMs === 0 && idleTimeoutMs === 0) return;
    const every = Math.min(pingMs || Infinity, idleTimeoutMs || Infinity);
    this.#pingTimer = setInterval(() => {
      const socket = this.#socket;
      if (socket === null || !this.#online) return;
      if (idleTimeoutMs > 0 && Date.now() - this.#lastInput >= idleTimeoutMs && pingMs === 0) {
        socket.destroy(
          new BusError(ErrorCode.DISCONNECTED, `no input from the daemon for ${idleTimeoutMs} ms`),
        );
        return;
      }
      if (pingMs > 0) {
        if (this.#pingsOut >= this.#opts.maxPingsOut) {
          socket.destroy(
            new BusError(ErrorCode.DISCONNECTED, `${this.#pingsOut} pings unanswered`),
          );
          return;
        }
        this.#pingsOut++;
        // Through the batch and the PONG queue, so flush() waiters are answered in order.
        this.#pongs.push(NOOP);
        this.#queueFrame(encodeBare(Op.PING), false);
      }
    }, every);
    this.#pingTimer.unref();
  }

  #lost(err: BusError): void {
    this.#online = false;
    clearInterval(this.#pingTimer);
    // Chunks handed to the socket but not flushed are lost with it.
    this.#metrics.failed += this.#inFlightMsgs;
    this.#inFlight = [];
    this.#inFlightBytes = 0;
    this.#inFlightMsgs = 0;
    for (const [, r] of this.#requests) {
      clearTimeout(r.timer);
      r.reject(
        new BusError(
          ErrorCode.DISCONNECTED,
          `connection lost while waiting for a reply on ${r.subject}`,
        ),
      );
    }
    this.#requests.clear();
    for (const [, c] of this.#calls)
      c.reject(new BusError(ErrorCode.DISCONNECTED, 'connection lost during a control call'));
    this.#calls.clear();
    const pongs = this.#pongs;
    this.#pongs = [];
    if (this.#closed || this.#reconnect === null) {
      for (const p of pongs) p();
      this.#finish(err);
      return;
    }
    // flush() waiters carry over: they are answered after the reconnect.
    this.#pongsAfterReconnect.push(...pongs);
    this.emit('disconnect', err);
    this.#scheduleReconnect(err);
  }

  #pongsAfterReconnect: (() => void)[] = [];

  #scheduleReconnect(err: BusError): void {
    const r = this.#reconnect;
    if (this.#closed) return;
    if (r === null || this.#attempt >= r.maxAttempts) {
      this.#finish(err);
      return;
    }
    const base = Math.min(r.maxMs, r.minMs * r.factor ** this.#attempt);
    const delay = Math.max(0, base * (1 + r.jitter * (Math.random() * 2 - 1)));
    this.#attempt++;
    this.#reconnectTimer = setTimeout(() => {
      this.#open(() => {
        this.#metrics.reconnects++;
        const waiters = this.#pongsAfterReconnect;
        this.#pongsAfterReconnect = [];
        if (waiters.length > 0) void this.flush().then(() => waiters.forEach((w) => w()));
        this.emit('reconnect');
      });
    }, delay);
  }

  #finish(err: BusError | undefined): void {
    const wasClosed = this.#closed;
    this.#closed = true;
    this.#online = false;
    clearInterval(this.#pingTimer);
    clearTimeout(this.#reconnectTimer);
    const dropped = this.#offlineMsgs.reduce((a, b) => a + b, 0) + this.#bufMsgs;
    this.#metrics.failed += dropped;
    this.#offline = [];
    this.#offlineMsgs = [];
    this.#off = 0;
    this.#bufMsgs = 0;
    for (const sub of this.#subs.values()) sub.end();
    for (const p of this.#pongsAfterReconnect) p();
    this.#pongsAfterReconnect = [];
    if (!wasClosed && err !== undefined && err.code !== ErrorCode.CLOSED)
      this.emit('disconnect', err);
    this.emit('close', err);
  }

  // -------------------------------------------------------------------------------------------
  // Output: batching and the bounded send queue

  /** Bytes queued and not yet flushed to the kernel. */
  #queuedBytes(): number {
    return this.#off + this.#inFlightBytes + this.#offline.reduce((a, c) => a + c.length, 0);
  }

  #queuedMsgs(): number {
    return this.#bufMsgs + this.#inFlightMsgs + this.#offlineMsgs.reduce((a, b) => a + b, 0);
  }

  /** Makes room for `n` bytes in the batch; throws BufferFullError past the queue bound. */
  #reserve(n: number, isMsg: boolean): void {
    if (this.#closed) throw new BusError(ErrorCode.CLOSED, 'the client is closed');
    if (isMsg) {
      const bytes =
        this.#off +
        this.#inFlightBytes +
        (this.#offline.length > 0 ? this.#queuedBytes() - this.#off - this.#inFlightBytes : 0);
      const msgs =
        this.#bufMsgs +
        this.#inFlightMsgs +
        (this.#offlineMsgs.length > 0
          ? this.#queuedMsgs() - this.#bufMsgs - this.#inFlightMsgs
          : 0);
      if (bytes + n > this.#opts.maxQueueBytes || msgs + 1 > this.#opts.maxQueueMsgs) {
        this.#metrics.dropped++;
        throw new BufferFullError(
          `send queue is full (${msgs} messages, ${bytes} bytes queued; limits ${this.#opts.maxQueueMsgs} messages, ${this.#opts.maxQueueBytes} bytes)`,
        );
      }
    }
    if (this.#off + n > this.#buf.length) {
      this.#flushBatch();
      if (n > this.#buf.length) this.#buf = Buffer.allocUnsafe(n);
    }
  }

  #afterWrite(isMsg: boolean): boolean {
    if (isMsg) this.#bufMsgs++;
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flushBatch);
    }
    if (
      this.#off + this.#inFlightBytes >= this.#opts.highWaterMark ||
      (this.#offline.length > 0 && this.#queuedBytes() >= this.#opts.highWaterMark)
    ) {
      this.#needDrain = true;
      return false;
    }
    return true;
  }

  /** Appends a pre-encoded frame to the batch. */
  #queueFrame(frame: Uint8Array, isMsg: boolean): boolean {
    if (isMsg) this.#checkFrame(frame.length);
    this.#reserve(frame.length, isMsg);
    this.#buf.set(frame, this.#off);
    this.#off += frame.length;
    return this.#afterWrite(isMsg);
  }

  #flushBatch = (): void => {
    this.#flushQueued = false;
    if (this.#off === 0) return;
    const n = this.#off;
    let chunk: Uint8Array;
    if (n <= SMALL_COPY) {
      chunk = Buffer.from(this.#buf.subarray(0, n));
    } else {
      chunk = this.#buf.subarray(0, n);
      // Fill the rest of the buffer next time (what was handed to the socket is not touched).
      this.#buf =
        this.#buf.length - n >= SMALL_COPY ? this.#buf.subarray(n) : Buffer.allocUnsafe(SCRATCH);
    }
    const msgs = this.#bufMsgs;
    this.#off = 0;
    this.#bufMsgs = 0;
    if (this.#online && this.#socket !== null) this.#writeChunk(chunk, msgs);
    else {
      this.#offline.push(chunk);
      this.#offlineMsgs.push(msgs);
    }
  };

  #writeChunk(chunk: Uint8Array, msgs: number): void {
    const entry: InFlight = { msgs, bytes: chunk.length };
    this.#inFlight.push(entry);
    this.#inFlightBytes += chunk.length;
    this.#inFlightMsgs += msgs;
    this.#socket!.write(chunk, (err) => {
      if (err !== undefined && err !== null) return; // counted as failed by #lost
      // Flush callbacks come in write order.
      const head = this.#inFlight.shift();
      if (head === undefined) return;
      this.#inFlightBytes -= head.bytes;
      this.#inFlightMsgs -= head.msgs;
      this.#metrics.sent += head.msgs;
      this.#maybeDrain();
    });
  }

  #maybeDrain(): void {
    if (!this.#needDrain) return;
    if (
      this.#off + this.#inFlightBytes < this.#opts.highWaterMark / 2 &&
      this.#offline.length === 0
    ) {
      this.#needDrain = false;
      this.emit('drain');
    }
  }

  // -------------------------------------------------------------------------------------------
  // Input

  #onMsg(msg: Msg): void {
    this.#metrics.received++;
    if (msg.sid === 0) {
      this.#onDirectMsg(msg);
      return;
    }
    if ((msg.flags & Flag.REPLY) !== 0) {
      const handler = this.#serves.get(msg.sid);
      if (handler !== undefined) this.#answer(handler, msg);
      return;
    }
    this.#subs.get(msg.sid)?.push(msg);
  }

  #onFrame(body: Uint8Array): void {
    switch (body[0]) {
      case Op.MSG:
        this.#onMsg(decodeMsg(body));
        return;
      case Op.REPLY:
        this.#onReply(body);
        return;
      case Op.GAP: {
        const g = decodeGap(body);
        const sub = this.#subs.get(g.sid);
        sub?.gap({ subject: sub.subject, lost: g.lost, firstId: g.firstId, lastId: g.lastId });
        return;
      }
      case Op.PONG:
        this.#pongs.shift()?.();
        return;
      case Op.PING:
        this.#socket?.write(encodeBare(Op.PONG));
        return;
      case Op.CALL_REPLY: {
        const r = decodeCallReply(body);
        const c = this.#calls.get(r.cid);
        if (c === undefined) return;
        this.#calls.delete(r.cid);
        if (r.ok) c.resolve(r.result);
        else
          c.reject(new BusError(r.code ?? ErrorCode.PROTOCOL, r.message ?? 'control call failed'));
        return;
      }
      case Op.ERROR: {
        const e = decodeError(body);
        const err = new BusError(e.code, e.message);
        if (e.fatal) {
          this.#closeError = err;
          if (e.code === ErrorCode.SHUTDOWN || e.code === ErrorCode.SLOW_CONSUMER) return; // the daemon closes; reconnect logic decides
          this.#socket?.destroy(err);
          return;
        }
        const sid = e.detail?.['sid'];
        const refused = typeof sid === 'number' ? this.#subs.get(sid) : undefined;
        if (refused !== undefined) {
          // The daemon refused this subscription: end it, and tell its owner.
          this.#subs.delete(refused.sid);
          this.#serves.delete(refused.sid);
          refused.end();
          if (refused.listenerCount('error') > 0) {
            refused.emit('error', err);
            return;
          }
        }
        this.#reportError(err);
        return;
      }
      default:
        throw new BusError(
          ErrorCode.PROTOCOL,
          `unexpected op 0x${(body[0] ?? 0).toString(16)} from the daemon`,
        );
    }
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

  #reportError(err: BusError): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else process.emitWarning(`udsbus: ${err.code}: ${err.message}`);
  }

  #onDirectMsg(msg: Msg): void {
    const handlers = this.#directHandlers;
    try {
      for (let i = 0; i < handlers.length; i++) handlers[i]!(msg);
      this.emit('direct', msg);
    } catch (err) {
      this.#userError(err);
    }
  }

  #onReply(body: Uint8Array): void {
    const r = decodeReply(body);
    const p = this.#requests.get(r.reqId);
    if (p === undefined) return; // timed out already
    this.#requests.delete(r.reqId);
    clearTimeout(p.timer);
    this.#metrics.received++;
    switch (r.status) {
      case ReplyStatus.OK:
        p.resolve({ data: r.data, from: r.from, type: r.type, headers: r.headers });
        return;
      case ReplyStatus.NO_RESPONDERS:
        p.reject(new BusError(ErrorCode.NO_RESPONDERS, `no responders for ${p.subject}`));
        return;
      case ReplyStatus.RESPONDER_GONE:
        p.reject(
          new BusError(
            ErrorCode.RESPONDER_GONE,
            `the responder for ${p.subject} disconnected before answering`,
          ),
        );
        return;
      default:
        p.reject(new BusError(ErrorCode.RESPONDER_FAILED, new TextDecoder().decode(r.data)));
    }
  }

  #answer(handler: ServeHandler, msg: Msg): void {
    const send = (status: number, data: Uint8Array, extras?: MessageExtras): void => {
      if (this.#closed) return;
      try {
        this.#queueFrame(encodeRes(msg.token, status, data, extras), true);
      } catch {
        // queue full or closed: the requester times out; counted in metrics.dropped
      }
    };
    const fail = (err: unknown): void =>
      send(ResStatus.ERROR, toBytes(err instanceof Error ? err.message : String(err)));
    const ok = (res: ServeResult): void => {
      try {
        if (typeof res === 'string' || res instanceof Uint8Array) send(ResStatus.OK, toBytes(res));
        else send(ResStatus.OK, toBytes(res.data), { type: res.type, headers: res.headers });
      } catch (err) {
        fail(err);
      }
    };
    let result: ServeResult | Promise<ServeResult>;
    try {
      result = handler(msg);
    } catch (err) {
      fail(err);
      return;
    }
    if (result instanceof Promise) result.then(ok, fail);
    else ok(result);
  }

  // -------------------------------------------------------------------------------------------
  // The verbs

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

  /**
   * Publishes `data` on `subject`. Returns false once the send queue is past its high-water mark
   * (wait for 'drain'); throws BufferFullError when the queue is full (the message is counted as dropped).
   */
  publish(subject: string, data: Uint8Array | string, options?: PublishOptions): boolean {
    this.#checkSubject(subject, false);
    const payload = typeof data === 'string' ? Buffer.from(data) : data;
    if (!(payload instanceof Uint8Array))
      throw new TypeError('data must be a Uint8Array or a string');
    const priority = this.#priority(options?.priority);
    const extras =
      options?.type === undefined && options?.headers === undefined
        ? NO_EXTRAS
        : encodeExtras(options);
    const size = pubFrameSize(subject, payload.length, extras);
    this.#checkFrame(size);
    this.#reserve(size, true);
    this.#off = writePub(this.#buf, this.#off, subject, payload, priority, extras);
    return this.#afterWrite(true);
  }

  /** Refuses a frame whose body would exceed the daemon's limit (`size` includes the length prefix). */
  #checkFrame(size: number): void {
    const max = this.#server?.maxFrame ?? 1024 * 1024;
    const body = size - varintSize(size);
    if (body > max) {
      throw new BusError(
        ErrorCode.FRAME_TOO_LARGE,
        `message of ${body} bytes exceeds the daemon's frame limit of ${max} bytes`,
      );
    }
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
  serve(subject: string, handler: ServeHandler, options: { queue?: string } = {}): Subscription {
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
    if (options.queue !== undefined && subjectProblem(options.queue, false) !== null) {
      throw new BusError(
        ErrorCode.BAD_SUBJECT,
        `bad queue group name ${JSON.stringify(options.queue)}`,
      );
    }
    if (this.#closed) throw new BusError(ErrorCode.CLOSED, 'the client is closed');
    const sid = this.#nextSid++;
    const sub = new Subscription(
      sid,
      subject,
      options,
      callback,
      (s) => {
        this.#subs.delete(s.sid);
        this.#serves.delete(s.sid);
        if (this.#online && !this.#closed) this.#queueFrame(encodeUnsub(s.sid), false);
      },
      this.#userError,
    );
    this.#subs.set(sid, sub);
    if (handler !== undefined) this.#serves.set(sid, handler);
    if (this.#online) {
      this.#queueFrame(
        encodeSub({
          sid,
          subject,
          queue: options.queue,
          serve: handler !== undefined,
          onSlow: options.onSlow,
        }),
        false,
      );
    }
    return sub;
  }

  /** Sends a request to exactly one responder; rejects with NO_RESPONDERS at once if there is none. */
  request(
    subject: string,
    data: Uint8Array | string,
    options: RequestOptions = {},
  ): Promise<Reply> {
    try {
      this.#checkSubject(subject, false);
      if (this.#closed) throw new BusError(ErrorCode.CLOSED, 'the client is closed');
      const timeoutMs = options.timeoutMs ?? 5000;
      if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > 0xffffffff)
        throw new RangeError('timeoutMs must be a positive integer');
      const reqId = this.#nextReq;
      this.#nextReq = this.#nextReq >= 0xffffffff ? 1 : this.#nextReq + 1;
      const frame = encodeReq(
        reqId,
        timeoutMs,
        subject,
        toBytes(data),
        this.#priority(options.priority),
        options,
      );
      this.#checkFrame(frame.length);
      return new Promise<Reply>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.#requests.delete(reqId);
          reject(new BusError(ErrorCode.TIMEOUT, `no reply on ${subject} within ${timeoutMs} ms`));
        }, timeoutMs);
        this.#requests.set(reqId, { resolve, reject, timer, subject });
        try {
          this.#queueFrame(frame, true);
        } catch (err) {
          clearTimeout(timer);
          this.#requests.delete(reqId);
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Sends a direct message to one client id. Returns false past the high-water mark. */
  send(clientId: number, data: Uint8Array | string, options: PublishOptions = {}): boolean {
    if (!Number.isInteger(clientId) || clientId <= 0 || clientId > 0xffffffff)
      throw new RangeError('clientId must be a positive integer');
    return this.#queueFrame(
      encodeSend(clientId, toBytes(data), this.#priority(options.priority), options),
      true,
    );
  }

  /** Sends a message to every other connected client. */
  broadcast(data: Uint8Array | string, options: PublishOptions = {}): boolean {
    return this.#queueFrame(
      encodeSend(0, toBytes(data), this.#priority(options.priority), options),
      true,
    );
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
    if (this.#closed) return Promise.reject(new BusError(ErrorCode.CLOSED, 'the client is closed'));
    return new Promise<void>((resolve) => {
      if (!this.#online) {
        this.#pongsAfterReconnect.push(resolve);
        return;
      }
      this.#pongs.push(resolve);
      this.#queueFrame(encodeBare(Op.PING), false);
    });
  }

  /** Calls a daemon control operation (`status`, `echo`). */
  call(op: string, args: Record<string, unknown> = {}): Promise<unknown> {
    if (this.#closed) return Promise.reject(new BusError(ErrorCode.CLOSED, 'the client is closed'));
    const cid = this.#nextCall++;
    return new Promise<unknown>((resolve, reject) => {
      this.#calls.set(cid, { resolve, reject });
      this.#queueFrame(encodeCall(cid, op, args), false);
    });
  }

  /** Counters: sent, dropped, failed, queue depth, bytes. */
  metrics(): ClientMetrics {
    return { ...this.#metrics, queueDepth: this.#queuedMsgs(), queuedBytes: this.#queuedBytes() };
  }

  /**
   * Closes the client. With `drainTimeoutMs` (default 2000), first waits until everything queued
   * has reached the daemon (or the timeout passed; what is left is counted as failed).
   */
  async close(options: { drainTimeoutMs?: number } = {}): Promise<void> {
    if (this.#closed) return;
    const drainTimeoutMs = options.drainTimeoutMs ?? 2000;
    if (this.#online && drainTimeoutMs > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.flush().catch(() => undefined),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, drainTimeoutMs))),
      ]);
      clearTimeout(timer);
    }
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#reconnectTimer);
    for (const [, r] of this.#requests) {
      clearTimeout(r.timer);
      r.reject(new BusError(ErrorCode.CLOSED, 'the client was closed'));
    }
    this.#requests.clear();
    const socket = this.#socket;
    if (socket === null) {
      this.#finish(new BusError(ErrorCode.CLOSED, 'closed'));
      return;
    }
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      this.#closeError = new BusError(ErrorCode.CLOSED, 'closed');
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref();
    });
  }
}

const NOOP = (): void => undefined;
