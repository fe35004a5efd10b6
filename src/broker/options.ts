// Broker options: what a daemon may tune, the defaults, and the resolved form the broker reads.
// Imports only protocol/ (the Clock).

import { systemClock, type Clock } from '../protocol/clock.js';
import { OPEN_POLICY, type Policy } from './policy.js';

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
  /**
   * Connections held at once (handshaking, ready or closing); past it a new connection gets a
   * fatal BUS_ERR_LIMIT at once. 0 = no limit (the default here; the daemon sets it from its
   * open-file limit).
   */
  maxConnections?: number;
  /**
   * Connections one uid (by the kernel's credentials) may hold at once, so that a flood from one
   * user cannot lock out the others; past it a fatal BUS_ERR_LIMIT at once. 0 = no limit (the
   * default here). Uids in `exemptUids` (the daemon passes its own and root) are not counted.
   */
  maxConnectionsPerUid?: number;
  /** Uids that maxConnectionsPerUid does not apply to. Default none. */
  exemptUids?: readonly number[];
  /** Subscriptions per connection. Default 10,000. */
  maxSubscriptions?: number;
  /**
   * Subscriptions (and `serve` registrations) on the whole bus; past it a SUB gets a non-fatal
   * BUS_ERR_LIMIT. Default 100,000 (about 80 MB of daemon memory: 1,000,000 took 820 MiB).
   */
  maxSubscriptionsTotal?: number;
  /** Requests awaiting an answer per responder. Default 65,536. */
  maxPendingRequests?: number;
  /** Keepalive: the daemon PINGs every client this often, ms (0 = off). Default 0. */
  pingMs?: number;
  /** Keepalive: a client that leaves this many PINGs unanswered is disconnected. Default 2. */
  maxPingsOut?: number;
  /** Disconnect a client that sends nothing for this long, ms (0 = never). Default 0. */
  idleTimeoutMs?: number;
  /** Service names one client may own or queue for; past it `name.claim` gets BUS_ERR_LIMIT. Default 256. */
  maxNamesPerClient?: number;
  /** Service names on the bus; past it BUS_ERR_LIMIT. Default 10,000. */
  maxNames?: number;
  /** Shared state: keys held at once; past it `state.set` of a new key gets BUS_ERR_LIMIT. Default 10,000. */
  maxStateKeys?: number;
  /**
   * Shared state: bytes of one value; past it BUS_ERR_LIMIT. Default 65,536. Clamped to
   * maxFrame - 1024, so a value always fits in a CALL and in the MSG a watcher receives.
   */
  maxStateValueBytes?: number;
  /** Shared state: bytes of all keys and values together; past it BUS_ERR_LIMIT. Default 8 MiB. */
  maxStateBytes?: number;
  /**
   * Called (synchronously, inside the broker) after each change of a value marked `persist`
   * (set, overwritten, deleted); the daemon then schedules a write of `Broker.persistedState()`.
   */
  onPersistChange?: () => void;
  /** Daemon timers running at once; past it `timer.start` gets BUS_ERR_LIMIT. Default 256. */
  maxTimers?: number;
  /** The shortest timer interval, ms; below it `timer.start` gets BUS_ERR_LIMIT. Default 5. */
  minTimerIntervalMs?: number;
  /** The access policy (policy.ts); default: no rules, anyone who can open the socket connects. */
  policy?: Policy;
  /** Version string reported in HELLO and status. */
  serverVersion?: string;
  /** Lifecycle log lines (connect, disconnect, errors). */
  log?: (line: string) => void;
  /** Operational warnings an operator must see even when `log` is quiet (accept failures). Default `log`. */
  warn?: (line: string) => void;
  /**
   * The daemon's own uid and pid, stamped on what the daemon itself sends (`$SYS` events,
   * replies no responder gave). Default unknown (0xffffffff on the wire).
   */
  self?: { uid: number; pid: number };
  /** Time and timers (keepalive, request deadlines, pacing, handshake). Default systemClock. */
  clock?: Clock;
  /** Defers the batched flush; default the clock's `defer` (setImmediate: once per event-loop turn). */
  schedule?: (fn: () => void) => void;
}

/**
 * Largest frame body accepted before the handshake, bytes: a HELLO needs at most about 560
 * (a 128-character name in UTF-8, a pid, a few keys). Keeps an unauthenticated connection
 * from making the daemon hold maxFrame bytes.
 */
export const PRE_HELLO_MAX_FRAME = 1024;

/** The numeric, string and list options, all present. */
export type Limits = { [K in keyof typeof DEFAULTS]: (typeof DEFAULTS)[K] };

export const DEFAULTS = {
  maxFrame: 1024 * 1024,
  maxQueueBytes: 16 * 1024 * 1024,
  maxQueueMsgs: 100_000,
  slowGraceMs: 2000,
  flowWindowBytes: 512 * 1024,
  flowWaitMs: 100,
  handshakeTimeoutMs: 5000,
  maxConnections: 0,
  maxConnectionsPerUid: 0,
  exemptUids: [] as readonly number[],
  maxSubscriptions: 10_000,
  maxSubscriptionsTotal: 100_000,
  maxPendingRequests: 65_536,
  pingMs: 0,
  maxPingsOut: 2,
  idleTimeoutMs: 0,
  maxNamesPerClient: 256,
  maxNames: 10_000,
  maxStateKeys: 10_000,
  maxStateValueBytes: 65_536,
  maxStateBytes: 8 * 1024 * 1024,
  maxTimers: 256,
  minTimerIntervalMs: 5,
  serverVersion: '0.0.0',
};

/** Room a state value leaves in a frame for the key, the CBOR or MSG around it and headers. */
export const STATE_FRAME_ROOM = 1024;

/** Options with every default filled in, plus the derived flow window. */
export interface ResolvedOptions extends Limits {
  log: (line: string) => void;
  warn: (line: string) => void;
  clock: Clock;
  schedule: (fn: () => void) => void;
  self: { uid: number; pid: number } | undefined;
  policy: Policy;
  onPersistChange: () => void;
  /** Flow-control window in bytes (0 = off): flowWindowBytes clamped to maxQueueBytes. */
  window: number;
}

/** Fills in the defaults of `options`. */
export function resolveOptions(options: BrokerOptions): ResolvedOptions {
  const limits = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as (keyof Limits)[]) {
    const v = options[key];
    if (v !== undefined) (limits as Record<string, unknown>)[key] = v;
  }
  const clock = options.clock ?? systemClock;
  const defer = clock.defer?.bind(clock) ?? ((fn: () => void) => clock.setTimeout(fn, 0));
  const log = options.log ?? (() => undefined);
  return {
    ...limits,
    log,
    warn: options.warn ?? log,
    clock,
    schedule: options.schedule ?? defer,
    self: options.self,
    policy: options.policy ?? OPEN_POLICY,
    onPersistChange: options.onPersistChange ?? (() => undefined),
    maxStateValueBytes: Math.max(
      0,
      Math.min(limits.maxStateValueBytes, limits.maxFrame - STATE_FRAME_ROOM),
    ),
    window: Math.min(limits.flowWindowBytes, limits.maxQueueBytes),
  };
}
