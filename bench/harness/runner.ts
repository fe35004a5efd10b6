// Benchmark scenarios: each runs its publishers, subscribers, requesters or idle clients as
// separate worker processes (worker.ts) against one bus and returns a BenchResult.
// The registry is keyed by scenario name so `queue` and `pipe` can join later.
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { round } from './stats.js';
import type {
  BenchResult,
  ControlMessage,
  WorkerConfig,
  WorkerReport,
  WorkerRole,
} from './types.js';

/** The bus under test, as the workers reach it. */
export interface BenchTarget {
  /** Name printed in results. */
  peer: string;
  /** URL of the adapter module the workers load. */
  adapter: string;
  endpoint: string;
  variant?: string;
  /** Server process whose memory the `conns` scenario reports. */
  serverPid?: number;
}

export interface ScenarioParams {
  size: number;
  msgs: number;
  pubs: number;
  subs: number;
  clients: number;
  /** Time bound of the sending phase; whatever was not delivered by then counts as lost. */
  maxMs: number;
  /** reqrep: 0 = closed loop, else fixed rate in requests per second. */
  rate: number;
  warmup: number;
}

export interface Scenario {
  name: string;
  summary: string;
  defaults: ScenarioParams;
  run(target: BenchTarget, params: ScenarioParams): Promise<BenchResult>;
}

type Result = Extract<WorkerReport, { t: 'result' }>;

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));
const SUBJECT = 'bench.data';
/** Extra node flags for worker processes, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`. */
const WORKER_NODE_ARGS = (process.env.UDSBUS_BENCH_WORKER_ARGS ?? '').split(' ').filter(Boolean);

function deferred<T>(): {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: Error) => void;
} {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** One worker process and what it has reported. */
class Worker {
  readonly child: ChildProcess;
  readonly ready = deferred<{ ok: number; failed: number }>();
  readonly result = deferred<Result>();
  readonly exited = deferred<undefined>();
  progress = 0;
  done = false;

  constructor(cfg: WorkerConfig) {
    this.child = fork(WORKER, [JSON.stringify(cfg)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
      execArgv: WORKER_NODE_ARGS,
    });
    const label = `${cfg.role} worker (${cfg.options.name})`;
    this.child.on('message', (m: WorkerReport) => {
      switch (m.t) {
        case 'ready':
          this.ready.resolve({ ok: m.ok ?? 1, failed: m.failed ?? 0 });
          break;
        case 'progress':
          this.progress = m.count;
          break;
        case 'result':
          this.progress = m.count;
          this.done = true;
          this.result.resolve(m);
          break;
        case 'error': {
          const e = new Error(`${label}: ${m.message}`);
          this.ready.reject(e);
          this.result.reject(e);
          break;
        }
      }
    });
    this.child.on('exit', (code, signal) => {
      const e = new Error(`${label} exited (${signal ?? `code ${code ?? '?'}`})`);
      this.ready.reject(e);
      this.result.reject(e);
      this.exited.resolve(undefined);
    });
    this.child.on('error', (e) => {
      this.ready.reject(e);
      this.result.reject(e);
    });
  }

  send(m: ControlMessage): void {
    if (this.child.connected) this.child.send(m);
  }

  /** Asks the worker to stop, then kills it if it has not exited within graceMs. */
  async stop(graceMs = 2000): Promise<void> {
    this.send({ t: 'stop' });
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited.promise;
    clearTimeout(timer);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Settles to the value, or undefined on rejection. */
async function settle<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch {
    return undefined;
  }
}

function config(
  target: BenchTarget,
  role: WorkerRole,
  index: number,
  p: ScenarioParams,
  extra: Partial<WorkerConfig> = {},
): WorkerConfig {
  return {
    role,
    adapter: target.adapter,
    options: {
      endpoint: target.endpoint,
      name: `bench-${role}-${index}`,
      role,
      ...(target.variant ? { variant: target.variant } : {}),
    },
    subject: SUBJECT,
    size: p.size,
    msgs: p.msgs,
    maxMs: p.maxMs,
    rate: p.rate,
    warmup: p.warmup,
    conns: 0,
    ...extra,
  };
}

/** Resident set of a process in MiB, from /proc/PID/status VmRSS. */
export function readRssMb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] ? round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

async function stopAll(workers: readonly Worker[]): Promise<void> {
  await Promise.all(workers.map((w) => w.stop()));
}

const READY_MS = 20_000;

async function runPubsub(target: BenchTarget, p: ScenarioParams): Promise<BenchResult> {
  const perPub = Math.max(1, Math.floor(p.msgs / p.pubs));
  const total = perPub * p.pubs;
  const subs: Worker[] = [];
  const pubs: Worker[] = [];
  const notes: string[] = [];
  try {
    for (let i = 0; i < p.subs; i++) {
      subs.push(new Worker(config(target, 'sub', i, p, { msgs: total })));
    }
    await withTimeout(Promise.all(subs.map((w) => w.ready.promise)), READY_MS, 'subscribers');
    for (let i = 0; i < p.pubs; i++) {
      pubs.push(new Worker(config(target, 'pub', i, p, { msgs: perPub })));
    }
    await withTimeout(Promise.all(pubs.map((w) => w.ready.promise)), READY_MS, 'publishers');
    for (const w of pubs) w.send({ t: 'go' });
    const hardDeadline = Date.now() + p.maxMs + 30_000;
    const pubResults = await withTimeout(
      Promise.all(pubs.map((w) => w.result.promise)),
      p.maxMs + 30_000,
      'publishers to finish',
    );
    const sent = pubResults.reduce((a, r) => a + r.sent, 0);
    for (const r of pubResults) if (r.note) notes.push(`pub: ${r.note}`);
    // Wait for the subscribers while they make progress; a stall of 1 s ends the wait, and so
    // does the time bound once more (what has not arrived by then is lost).
    const drainDeadline = Math.min(hardDeadline, Date.now() + Math.max(2000, p.maxMs));
    let lastTotal = -1;
    let lastChange = Date.now();
    while (Date.now() < drainDeadline) {
      const got = subs.reduce((a, w) => a + w.progress, 0);
      if (subs.every((w) => w.done || w.progress >= sent)) break;
      if (got !== lastTotal) {
        lastTotal = got;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > 1000) {
        break;
      }
      await sleep(50);
    }
    for (const w of subs) w.send({ t: 'stop' });
    const subResults = await Promise.all(
      subs.map((w) => settle(withTimeout(w.result.promise, 3000, 'subscriber result'))),
    );
    const delivered = subResults.reduce((a, r) => a + (r?.count ?? 0), 0);
    const subNotes = new Set(subResults.map((r) => r?.note).filter((n): n is string => !!n));
    for (const n of subNotes) notes.push(`sub: ${n}`);
    const missing = subResults.filter((r) => r === undefined).length;
    if (missing > 0) notes.push(`${missing} subscriber(s) gave no result`);
    const startNs = Math.min(...pubResults.map((r) => r.startNs));
    const ends = subResults.filter((r) => r !== undefined && r.count > 0).map((r) => r!.endNs);
    const endNs = ends.length > 0 ? Math.max(...ends) : Math.max(...pubResults.map((r) => r.endNs));
    const elapsedS = Math.max(1e-9, (endNs - startNs) / 1e9);
    const lost = Math.max(0, sent * p.subs - delivered);
    if (lost > 0) notes.push(`${lost} deliveries lost`);
    const rate = delivered / elapsedS;
    return {
      peer: target.peer,
      scenario: 'pubsub',
      size: p.size,
      pubs: p.pubs,
      subs: p.subs,
      sent,
      delivered,
      lost,
      msgs_per_sec: round(rate),
      mb_per_sec: round((rate * p.size) / 1e6),
      elapsed_ms: round(elapsedS * 1000),
      ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
    };
  } finally {
    await stopAll([...pubs, ...subs]);
  }
}

async function runReqrep(target: BenchTarget, p: ScenarioParams): Promise<BenchResult> {
  const workers: Worker[] = [];
  try {
    const responder = new Worker(config(target, 'responder', 0, p));
    workers.push(responder);
    await withTimeout(responder.ready.promise, READY_MS, 'responder');
    const requester = new Worker(config(target, 'requester', 0, p));
    workers.push(requester);
    await withTimeout(requester.ready.promise, READY_MS, 'requester');
    requester.send({ t: 'go' });
    const r = await withTimeout(requester.result.promise, p.maxMs + 30_000, 'requester');
    const elapsedS = Math.max(1e-9, (r.endNs - r.startNs) / 1e9);
    const rate = r.count / elapsedS;
    const lost = Math.max(0, r.sent - r.count);
    const notes = [r.note, lost > 0 ? `${lost} requests failed or timed out` : undefined].filter(
      (n): n is string => !!n,
    );
    const lat = r.latencyUs;
    return {
      peer: target.peer,
      scenario: 'reqrep',
      size: p.size,
      mode: p.rate > 0 ? 'fixed-rate' : 'closed-loop',
      ...(p.rate > 0 ? { rate: p.rate } : {}),
      sent: r.sent,
      delivered: r.count,
      lost,
      msgs_per_sec: round(rate),
      mb_per_sec: round((rate * p.size) / 1e6),
      elapsed_ms: round(elapsedS * 1000),
      ...(lat
        ? {
            p50_us: round(lat.p50),
            p90_us: round(lat.p90),
            p99_us: round(lat.p99),
            p999_us: round(lat.p999),
            max_us: round(lat.max),
          }
        : {}),
      ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
    };
  } finally {
    await stopAll(workers);
  }
}

const CONNS_PER_WORKER = 250;

async function runConns(target: BenchTarget, p: ScenarioParams): Promise<BenchResult> {
  const workers: Worker[] = [];
  const notes: string[] = [];
  const pid = target.serverPid;
  if (pid === undefined) notes.push('server pid unknown: no RSS');
  try {
    const base = pid === undefined ? undefined : readRssMb(pid);
    const t0 = process.hrtime.bigint();
    for (let i = 0, left = p.clients; left > 0; i++, left -= CONNS_PER_WORKER) {
      const conns = Math.min(CONNS_PER_WORKER, left);
      workers.push(new Worker(config(target, 'idle', i, p, { conns })));
    }
    const ready = await Promise.all(
      workers.map((w) => settle(withTimeout(w.ready.promise, 60_000, 'idle clients'))),
    );
    const elapsedS = Number(process.hrtime.bigint() - t0) / 1e9;
    const ok = ready.reduce((a, r) => a + (r?.ok ?? 0), 0);
    // Let the server settle (lazy buffers, deferred handshakes) before reading its memory.
    await sleep(500);
    const rss = pid === undefined ? undefined : readRssMb(pid);
    const lost = p.clients - ok;
    if (lost > 0) notes.push(`${lost} connections failed`);
    return {
      peer: target.peer,
      scenario: 'conns',
      size: 0,
      clients: p.clients,
      sent: p.clients,
      delivered: ok,
      lost,
      msgs_per_sec: round(ok / elapsedS),
      mb_per_sec: 0,
      elapsed_ms: round(elapsedS * 1000),
      ...(rss !== undefined ? { rss_mb: rss } : {}),
      ...(base !== undefined ? { rss_base_mb: base } : {}),
      ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
    };
  } finally {
    await stopAll(workers);
  }
}

const BASE: ScenarioParams = {
  size: 64,
  msgs: 1_000_000,
  pubs: 1,
  subs: 1,
  clients: 1000,
  maxMs: 10_000,
  rate: 0,
  warmup: 1000,
};

/** Scenario registry; `queue` and `pipe` join here when those channel types exist. */
export const SCENARIOS: Readonly<Record<string, Scenario>> = {
  pubsub: {
    name: 'pubsub',
    summary: 'publishers -> subscribers throughput; each subscriber copy counts as a delivery',
    defaults: BASE,
    run: runPubsub,
  },
  reqrep: {
    name: 'reqrep',
    summary: 'request/reply latency, closed loop or fixed rate (--rate, no coordinated omission)',
    defaults: { ...BASE, msgs: 50_000 },
    run: runReqrep,
  },
  conns: {
    name: 'conns',
    summary: 'server memory (RSS) with N idle connected clients',
    defaults: { ...BASE, size: 0 },
    run: runConns,
  },
};
