// Shapes shared by the harness (bench/harness/cli.ts), its worker processes and the peer suite (bench/peers).
// Types only: imports nothing.

/** One benchmark measurement: the same shape for udsbus and every peer. */
export interface BenchResult {
  /** Who was measured: `udsbus`, `nats`, `redis`, `raw-relay`, ... */
  peer: string;
  /** Scenario kind from the registry: `pubsub`, `reqrep`, `conns` (later `queue`, `pipe`). */
  scenario: string;
  /** Payload bytes per message (0 for `conns`). */
  size: number;
  pubs?: number;
  subs?: number;
  clients?: number;
  /** reqrep: `closed-loop` or `fixed-rate`. */
  mode?: string;
  /** reqrep fixed-rate: requests per second asked for. */
  rate?: number;
  /** Messages (or requests, or connections) sent. */
  sent: number;
  /** Deliveries counted by the receivers (pub/sub counts each subscriber's copy). */
  delivered: number;
  /** Expected deliveries that never arrived within the time bound. */
  lost: number;
  /** Deliveries per second, from the first publish to the last delivery. */
  msgs_per_sec: number;
  /** Payload megabytes (10^6 bytes) delivered per second. */
  mb_per_sec: number;
  elapsed_ms: number;
  p50_us?: number;
  p90_us?: number;
  p99_us?: number;
  p999_us?: number;
  max_us?: number;
  /** conns: server resident set (VmRSS) with the clients connected. */
  rss_mb?: number;
  /** conns: server resident set before the clients connected. */
  rss_base_mb?: number;
  note?: string;
}

/** What a bus looks like to the benchmark workers: udsbus and each peer implement it. */
export interface BenchAdapter {
  /** Publishes one message; false means: await waitDrain() before publishing more. */
  publish(subject: string, data: Uint8Array): boolean;
  waitDrain(): Promise<void>;
  /** Resolves once everything published before it has been taken by the server. */
  flush(): Promise<void>;
  /** Resolves once the server has the subscription. */
  subscribe(subject: string, onMessage: (data: Uint8Array) => void): Promise<void>;
  /** Answers requests on subject; resolves once the server routes requests here. */
  serve?(subject: string, handler: (data: Uint8Array) => Uint8Array): Promise<void>;
  request?(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  /** Anything worth reporting next to the numbers (disconnects, reported gaps). */
  note?(): string | undefined;
  close(): Promise<void>;
}

/** Role of a worker process in a scenario. */
export type WorkerRole = 'pub' | 'sub' | 'responder' | 'requester' | 'idle';

/** How a worker finds and configures its adapter. */
export interface AdapterOptions {
  /** Socket path, URL or directory: whatever the adapter needs to reach the server. */
  endpoint: string;
  /** Client name, unique per connection. */
  name: string;
  role: WorkerRole;
  /** Adapter-specific flavour, e.g. `qos1` for MQTT. */
  variant?: string;
}

/** An adapter module (loaded by URL in the worker) exports `create`. */
export interface AdapterModule {
  create(options: AdapterOptions): Promise<BenchAdapter>;
}

/** The JSON a worker process gets as its single argument. */
export interface WorkerConfig {
  role: WorkerRole;
  /** URL of the adapter module. */
  adapter: string;
  options: AdapterOptions;
  subject: string;
  size: number;
  /** pub: messages to send; sub: deliveries expected; requester: requests. */
  msgs: number;
  /** Time bound for the sending phase. */
  maxMs: number;
  /** requester: requests per second (fixed-rate mode, no coordinated omission); 0 = closed loop. */
  rate: number;
  /** requester: requests before measuring. */
  warmup: number;
  /** idle: connections to open. */
  conns: number;
}

/** Parent -> worker control messages (over the fork IPC channel, never on the measured path). */
export type ControlMessage = { t: 'go' } | { t: 'stop' };

/** Worker -> parent reports. */
export type WorkerReport =
  | { t: 'ready'; ok?: number; failed?: number }
  | { t: 'progress'; count: number }
  | {
      t: 'result';
      role: WorkerRole;
      count: number;
      /** pub: messages sent; requester: requests sent. */
      sent: number;
      /** hrtime (ns, CLOCK_MONOTONIC: comparable across processes) of the first send. */
      startNs: number;
      /** hrtime of the last send (pub) or last delivery (sub) or last reply (requester). */
      endNs: number;
      latencyUs?: { p50: number; p90: number; p99: number; p999: number; max: number };
      errors?: number;
      note?: string;
    }
  | { t: 'error'; message: string };
