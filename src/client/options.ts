// Options of a client (`connect(options)`) and their defaults, resolved once at construction;
// options of the verbs; the metrics type.
// Imports protocol/ and transport/ (the default dialer and socket path).

import { systemClock, type Clock } from '../protocol/clock.js';
import type { SlowPolicyValue } from '../protocol/constants.js';
import type { MessageExtras } from '../protocol/extras.js';
import { dialUnix } from '../transport/dial.js';
import type { Dialer } from '../transport/link.js';
import { DEFAULT_SOCK_BUF } from '../transport/sock-buf.js';
import { defaultSocketPath } from '../transport/socket-path.js';

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
  /**
   * Messages an async iterator (`for await (const msg of sub)`) holds before its subscription's
   * `onSlow` policy applies locally (default 10,000). A subscription may set its own.
   */
  maxBuffered?: number;
  /** Opens the byte link to the daemon (default: the Unix-socket dialer). Tests pass a memory one. */
  dial?: Dialer;
  /** Time and timers: keepalive, reconnect backoff, request and connect timeouts (default: the system clock). */
  clock?: Clock;
}

/** Another name for ConnectOptions. */
export type ClientOptions = ConnectOptions;

/** Options with every default filled in. */
export interface ResolvedOptions {
  path: string;
  name: string;
  reconnect: Required<ReconnectOptions> | null;
  maxQueueBytes: number;
  maxQueueMsgs: number;
  highWaterMark: number;
  pingMs: number;
  maxPingsOut: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  sockBuf: number;
  maxBuffered: number;
  dial: Dialer;
  clock: Clock;
}

/** Options of `subscribe`. */
export interface SubscribeOptions {
  /** Queue group: each message goes to one member of the group. */
  queue?: string;
  /**
   * What happens when this subscriber cannot keep up: in the daemon (its queue for this client
   * is full) and, for an async iterator, in the client (its buffer holds `maxBuffered`).
   * Default `disconnect`.
   */
  onSlow?: SlowPolicyValue;
  /** Async iteration only: messages held before `onSlow` applies (default: the client's `maxBuffered`). */
  maxBuffered?: number;
  /**
   * A monitor: copies of every publish, request, reply, direct message and broadcast on matching
   * subjects, each with `mon-*` headers (docs/API.md "Monitors"). Needs the access policy's leave
   * (the daemon's own uid and root by default).
   */
  monitor?: boolean;
}

function positiveInt(name: string, v: number | undefined, dflt: number, min = 0): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < min)
    throw new RangeError(`${name} must be an integer of at least ${min}`);
  return v;
}

/** Fills in defaults and checks the numbers. */
export function resolveOptions(options: ConnectOptions): ResolvedOptions {
  const r = options.reconnect ?? true;
  const ro: ReconnectOptions = typeof r === 'object' ? r : {};
  return {
    path: options.path ?? defaultSocketPath(),
    name: options.name ?? '',
    reconnect:
      r === false
        ? null
        : {
            minMs: ro.minMs ?? 50,
            maxMs: ro.maxMs ?? 2000,
            factor: ro.factor ?? 2,
            jitter: ro.jitter ?? 0.2,
            maxAttempts: ro.maxAttempts ?? Infinity,
          },
    maxQueueBytes: positiveInt('maxQueueBytes', options.maxQueueBytes, 8 * 1024 * 1024, 1),
    maxQueueMsgs: positiveInt('maxQueueMsgs', options.maxQueueMsgs, 100_000, 1),
    highWaterMark: positiveInt('highWaterMark', options.highWaterMark, 1024 * 1024, 1),
    pingMs: positiveInt('pingMs', options.pingMs, 0),
    maxPingsOut: positiveInt('maxPingsOut', options.maxPingsOut, 2, 1),
    connectTimeoutMs: positiveInt('connectTimeoutMs', options.connectTimeoutMs, 5000, 1),
    idleTimeoutMs: positiveInt('idleTimeoutMs', options.idleTimeoutMs, 0),
    sockBuf: positiveInt('sockBuf', options.sockBuf, DEFAULT_SOCK_BUF),
    maxBuffered: positiveInt('maxBuffered', options.maxBuffered, 10_000, 1),
    dial: options.dial ?? dialUnix,
    clock: options.clock ?? systemClock,
  };
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
