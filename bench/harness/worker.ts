// Benchmark worker process: one publisher, subscriber, responder, requester or idle-client
// holder, driven over the fork IPC channel by runner.ts. Loads its bus adapter by URL.
import { setImmediate as yieldLoop, setTimeout as sleep } from 'node:timers/promises';
import { percentile } from './stats.js';
import type {
  AdapterModule,
  BenchAdapter,
  ControlMessage,
  WorkerConfig,
  WorkerReport,
} from './types.js';

const now = (): number => Number(process.hrtime.bigint());

function report(r: WorkerReport): void {
  process.send?.(r);
}

let onControl: (m: ControlMessage) => void = () => undefined;
const stopped = new Promise<void>((resolve) => {
  onControl = (m) => {
    if (m.t === 'stop') resolve();
    else goResolve();
  };
});
let goResolve: () => void = () => undefined;
const go = new Promise<void>((resolve) => {
  goResolve = resolve;
});

/** Resolves true when p settles before the deadline (hrtime ns), false otherwise. */
async function beforeDeadline(p: Promise<unknown>, deadlineNs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, (deadlineNs - now()) / 1e6));
  });
  try {
    return await Promise.race([p.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

function joinNotes(...notes: (string | undefined)[]): string | undefined {
  const kept = notes.filter((n): n is string => !!n);
  return kept.length > 0 ? kept.join('; ') : undefined;
}

function payload(size: number): Uint8Array {
  const p = new Uint8Array(size);
  for (let i = 0; i < size; i++) p[i] = 97 + (i % 26);
  return p;
}

async function load(cfg: WorkerConfig): Promise<AdapterModule> {
  return (await import(cfg.adapter)) as AdapterModule;
}

async function runPub(cfg: WorkerConfig, bus: BenchAdapter): Promise<void> {
  const data = payload(cfg.size);
  report({ t: 'ready' });
  await go;
  const startNs = now();
  const deadline = startNs + cfg.maxMs * 1e6;
  let sent = 0;
  let sinceYield = 0;
  let note: string | undefined;
  outer: while (sent < cfg.msgs) {
    const end = Math.min(cfg.msgs, sent + 256);
    while (sent < end) {
      sent++;
      if (!bus.publish(cfg.subject, data)) {
        if (!(await beforeDeadline(bus.waitDrain(), deadline))) {
          note = `time bound ${cfg.maxMs} ms reached waiting for drain`;
          break outer;
        }
        sinceYield = 0;
      }
    }
    sinceYield += 256;
    if (now() > deadline) {
      note = `time bound ${cfg.maxMs} ms reached`;
      break;
    }
    // Never starve the event loop for long, even if the adapter never pushes back.
    if (sinceYield >= 65536) {
      sinceYield = 0;
      await yieldLoop();
    }
  }
  const endNs = now();
  if (!(await beforeDeadline(bus.flush(), now() + 5000 * 1e6))) {
    note = joinNotes(note, 'final flush timed out');
  }
  note = joinNotes(note, bus.note?.());
  report({
    t: 'result',
    role: 'pub',
    count: sent,
    sent,
    startNs,
    endNs,
    ...(note ? { note } : {}),
  });
  await stopped;
}

async function runSub(cfg: WorkerConfig, bus: BenchAdapter): Promise<void> {
  let count = 0;
  let startNs = 0;
  let endNs = 0;
  let reported = false;
  const expected = cfg.msgs;
  const finish = (): void => {
    if (reported) return;
    reported = true;
    const note = bus.note?.();
    report({ t: 'result', role: 'sub', count, sent: 0, startNs, endNs, ...(note ? { note } : {}) });
  };
  await bus.subscribe(cfg.subject, () => {
    count++;
    // Reading the clock costs ~50 ns: do it on the first, every 256th and the last delivery.
    if (count === 1) startNs = endNs = now();
    else if ((count & 255) === 0) endNs = now();
    if (count === expected) {
      endNs = now();
      finish();
    }
  });
  report({ t: 'ready' });
  let last = 0;
  const timer = setInterval(() => {
    if (count !== last && !reported) {
      last = count;
      report({ t: 'progress', count });
    }
  }, 200);
  await stopped;
  clearInterval(timer);
  finish();
}

async function runResponder(cfg: WorkerConfig, bus: BenchAdapter): Promise<void> {
  if (!bus.serve) throw new Error('this bus has no request/reply');
  let count = 0;
  await bus.serve(cfg.subject, (d) => {
    count++;
    return d;
  });
  report({ t: 'ready' });
  await stopped;
  report({ t: 'result', role: 'responder', count, sent: count, startNs: 0, endNs: 0 });
}

async function runRequester(cfg: WorkerConfig, bus: BenchAdapter): Promise<void> {
  const request = bus.request?.bind(bus);
  if (!request) throw new Error('this bus has no request/reply');
  const data = payload(cfg.size);
  const timeoutMs = 5000;
  report({ t: 'ready' });
  await go;
  for (let i = 0; i < cfg.warmup; i++) await request(cfg.subject, data, timeoutMs);
  const lat = new Float64Array(cfg.msgs);
  let n = 0;
  let sent = 0;
  let errors = 0;
  const startNs = now();
  const deadline = startNs + cfg.maxMs * 1e6;
  let note: string | undefined;
  if (cfg.rate > 0) {
    // Fixed rate: latency counts from the intended send time, so a stall is charged to every
    // request it delayed (no coordinated omission).
    const interval = 1e9 / cfg.rate;
    let inflight = 0;
    while (sent < cfg.msgs) {
      const intended = startNs + sent * interval;
      const t = now();
      if (t > deadline) {
        note = `time bound ${cfg.maxMs} ms reached`;
        break;
      }
      if (intended > t) {
        const waitMs = (intended - t) / 1e6;
        if (waitMs > 1) await sleep(waitMs - 0.5);
        else await yieldLoop();
        continue;
      }
      sent++;
      inflight++;
      request(cfg.subject, data, timeoutMs).then(
        () => {
          inflight--;
          if (n < lat.length) lat[n++] = (now() - intended) / 1000;
        },
        () => {
          inflight--;
          errors++;
        },
      );
      if (inflight > 10000) {
        note = 'more than 10000 requests in flight: rate not sustainable';
        break;
      }
    }
    // Every request either answers or times out, so this ends.
    while (inflight > 0) await sleep(2);
  } else {
    while (sent < cfg.msgs) {
      const s = now();
      sent++;
      try {
        await request(cfg.subject, data, timeoutMs);
        lat[n++] = (now() - s) / 1000;
      } catch {
        errors++;
      }
      if (now() > deadline) {
        note = `time bound ${cfg.maxMs} ms reached`;
        break;
      }
    }
  }
  const endNs = now();
  note = joinNotes(note, bus.note?.());
  const sorted = lat.subarray(0, n).sort();
  report({
    t: 'result',
    role: 'requester',
    count: n,
    sent,
    startNs,
    endNs,
    errors,
    latencyUs: {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      p999: percentile(sorted, 99.9),
      max: percentile(sorted, 100),
    },
    ...(note ? { note } : {}),
  });
  await stopped;
}

async function runIdle(cfg: WorkerConfig, mod: AdapterModule): Promise<void> {
  const buses: BenchAdapter[] = [];
  let failed = 0;
  const startNs = now();
  // Open in small parallel batches, retrying a few times: a Unix socket whose listen backlog
  // is full refuses at once (EAGAIN), and this scenario measures memory, not connect storms.
  const open = async (name: string): Promise<BenchAdapter> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await mod.create({ ...cfg.options, name });
      } catch (err) {
        if (attempt >= 5) throw err;
        await sleep(20 * attempt);
      }
    }
  };
  for (let i = 0; i < cfg.conns; i += 25) {
    const batch = [];
    for (let j = i; j < Math.min(cfg.conns, i + 25); j++) {
      batch.push(open(`${cfg.options.name}-${j}`));
    }
    for (const r of await Promise.allSettled(batch)) {
      if (r.status === 'fulfilled') buses.push(r.value);
      else failed++;
    }
  }
  const endNs = now();
  report({ t: 'ready', ok: buses.length, failed });
  await stopped;
  report({ t: 'result', role: 'idle', count: buses.length, sent: cfg.conns, startNs, endNs });
  await Promise.allSettled(buses.map((b) => b.close()));
}

async function main(): Promise<void> {
  const arg = process.argv[2];
  if (arg === undefined || !process.send) {
    process.stderr.write('bench-worker: run by bench/harness/runner, not by hand\n');
    process.exitCode = 2;
    return;
  }
  const cfg = JSON.parse(arg) as WorkerConfig;
  process.on('message', (m: ControlMessage) => onControl(m));
  process.on('disconnect', () => process.exit(0));
  const mod = await load(cfg);
  if (cfg.role === 'idle') {
    await runIdle(cfg, mod);
  } else {
    const bus = await mod.create(cfg.options);
    switch (cfg.role) {
      case 'pub':
        await runPub(cfg, bus);
        break;
      case 'sub':
        await runSub(cfg, bus);
        break;
      case 'responder':
        await runResponder(cfg, bus);
        break;
      case 'requester':
        await runRequester(cfg, bus);
        break;
    }
    await Promise.race([bus.close(), sleep(1000)]);
  }
  process.disconnect();
  process.exit(0);
}

main().catch((err: unknown) => {
  report({ t: 'error', message: err instanceof Error ? err.message : String(err) });
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100).unref();
});
