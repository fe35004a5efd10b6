// Flow control with real processes: a stopped subscriber, a stalled direct producer, a daemon
// killed under load, and priority overtaking a backlog. Every message is accounted for.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DAEMON_SOCK_BUF, wmemMax } from '../../src/transport/sock-buf.js';
import { DaemonProc, Proc, tempDir } from '../helpers/processes.js';
import { rssBytes, rssPeak } from '../helpers/rss.js';

const TOOL = new URL('../helpers/bus-tool.js', import.meta.url).pathname;

/** Every process a test starts, killed at the end even when an assertion failed midway. */
const spawned: { kill: (signal: NodeJS.Signals) => unknown }[] = [];
after(() => {
  for (const p of spawned) {
    p.kill('SIGCONT');
    p.kill('SIGKILL');
  }
});
const MiB = 1024 * 1024;

/** A bus-tool process whose stdout is JSON lines. */
class Tool {
  readonly child;
  lines: Record<string, unknown>[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  constructor(args: string[]) {
    this.child = spawn(process.execPath, [TOOL, ...args]);
    spawned.push(this.child);
    let buf = '';
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (c: string) => {
      buf += c;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        this.lines.push(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
        buf = buf.slice(nl + 1);
      }
    });
    this.child.stderr.on('data', (c: Buffer) => (this.stderr += c.toString()));
    this.exited = new Promise((resolve) => this.child.on('close', resolve));
  }
  last(key: string): Record<string, unknown> | undefined {
    return [...this.lines].reverse().find((l) => key in l);
  }
  async wait(
    key: string,
    pred: (l: Record<string, unknown>) => boolean = () => true,
    ms = 30_000,
  ): Promise<Record<string, unknown>> {
    const end = Date.now() + ms;
    for (;;) {
      const l = this.lines.find((x) => key in x && pred(x));
      if (l !== undefined) return l;
      if (Date.now() > end)
        throw new Error(
          `no ${key} line; lines: ${JSON.stringify(this.lines.slice(-3))} stderr: ${this.stderr}`,
        );
      await sleep(20);
    }
  }
  /** Asks a `count` tool for its counters until `pred` holds. */
  async poll(
    pred: (l: { received: number; lost: number; prioAt: number[] }) => boolean,
    ms = 30_000,
  ): Promise<{ received: number; lost: number; prioAt: number[] }> {
    const end = Date.now() + ms;
    for (;;) {
      const before = this.lines.length;
      this.child.kill('SIGUSR2');
      while (this.lines.length === before) {
        if (Date.now() > end) throw new Error(`count tool did not answer; stderr: ${this.stderr}`);
        await sleep(10);
      }
      const l = this.last('received') as { received: number; lost: number; prioAt: number[] };
      if (pred(l)) return l;
      if (Date.now() > end) throw new Error(`condition not reached: ${JSON.stringify(l)}`);
      await sleep(100);
    }
  }
  stop(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null) this.child.kill(signal);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

void test('a stopped subscriber: daemon memory stays bounded, the healthy subscriber gets everything, the GAP accounts for every lost message', async () => {
  const tmp = tempDir();
  const bound = 8 * MiB;
  const d = await DaemonProc.start(join(tmp.dir, 'bus.sock'), [
    '--max-queue-bytes',
    String(bound),
    '--slow-grace-ms',
    '10000',
  ]);
  const slow = new Tool(['count', d.path, 'flow.x', 'drop-oldest']);
  const healthy = new Tool(['count', d.path, 'flow.x', 'disconnect']);
  await slow.wait('ready');
  await healthy.wait('ready');
  const base = rssBytes(d.child.pid!);
  slow.child.kill('SIGSTOP');
  const N = 200_000;
  const peak = rssPeak(d.child.pid!);
  const pub = new Tool(['publish', d.path, 'flow.x', String(N), '2048']);
  const summary = (await pub.wait('published', () => true, 60_000)) as {
    ms: number;
    metrics: { sent: number; dropped: number; failed: number };
  };
  const h = await healthy.poll((l) => l.received === N);
  const peakRss = peak.stop();
  assert.equal(summary.metrics.sent, N);
  assert.equal(summary.metrics.dropped + summary.metrics.failed, 0);
  assert.equal(h.lost, 0, 'the healthy subscriber lost nothing');
  const grew = peakRss - base;
  // The margin is V8 heap and GC slack, independent of traffic (measured: about 100 MiB for 64 B
  // and 2 KiB payloads alike); without the bound this run grows the daemon by over 400 MiB.
  assert.ok(
    grew < bound + 128 * MiB,
    `daemon RSS grew by ${(grew / MiB).toFixed(1)} MiB with an ${bound / MiB} MiB queue bound`,
  );
  slow.child.kill('SIGCONT');
  const s = await slow.poll((l) => l.received + l.lost === N);
  assert.ok(s.lost > 0, 'the stopped subscriber lost messages');
  assert.equal(s.received + s.lost, N, 'received + lost = published');
  process.stderr.write(
    `# stopped-subscriber: ${N} x 2 KiB in ${summary.ms} ms (${Math.round(N / (summary.ms / 1000))} msg/s); ` +
      `slow received ${s.received}, lost ${s.lost}; daemon RSS +${(grew / MiB).toFixed(1)} MiB\n`,
  );
  slow.stop();
  healthy.stop();
  await d.stop();
  tmp.cleanup();
});

void test('a producer of direct messages to a stopped receiver stalls instead of growing the daemon, then resumes; nothing lost', async () => {
  const tmp = tempDir();
  const bound = 1 * MiB;
  const d = await DaemonProc.start(join(tmp.dir, 'bus.sock'), ['--max-queue-bytes', String(bound)]);
  const N = 60_000;
  const recv = new Tool(['drecv', d.path, String(N)]);
  const { id } = (await recv.wait('id')) as { id: number };
  recv.child.kill('SIGSTOP');
  const base = rssBytes(d.child.pid!);
  const peak = rssPeak(d.child.pid!);
  const sender = new Tool(['dsend', d.path, String(id), String(N), '1024']);
  // Wait until the sender is stalled: its sent counter stops moving for 500 ms.
  let stalledAt = -1;
  const end = Date.now() + 20_000;
  while (Date.now() < end) {
    await sleep(500);
    const p = sender.lines.filter((l) => 'progress' in l) as {
      metrics: { sent: number; queuedBytes: number };
    }[];
    if (p.length >= 6 && p[p.length - 1]!.metrics.sent === p[p.length - 6]!.metrics.sent) {
      stalledAt = p[p.length - 1]!.metrics.sent;
      break;
    }
  }
  assert.ok(stalledAt >= 0, 'the sender stalled');
  assert.ok(stalledAt < N, `stalled after ${stalledAt} of ${N}`);
  assert.equal(
    sender.last('done'),
    undefined,
    'the sender is not done while the receiver is stopped',
  );
  const grew = peak.stop() - base;
  assert.ok(grew < bound + 48 * MiB, `daemon RSS grew by ${(grew / MiB).toFixed(1)} MiB`);
  recv.child.kill('SIGCONT');
  const done = (await sender.wait('done')) as {
    stalls: number;
    metrics: { sent: number; dropped: number; failed: number };
  };
  const got = (await recv.wait('received')) as { received: number };
  assert.equal(got.received, N, 'every direct message arrived');
  assert.equal(done.metrics.sent, N);
  assert.equal(done.metrics.dropped + done.metrics.failed, 0);
  assert.ok(done.stalls > 0, 'send() returned false and the sender waited for drain');
  process.stderr.write(
    `# direct-stall: stalled at ${stalledAt}/${N}, daemon RSS +${(grew / MiB).toFixed(1)} MiB\n`,
  );
  await d.stop();
  tmp.cleanup();
});

void test('kill -9 the daemon under load: clients reconnect within the backoff bound, re-subscribe, traffic continues, metrics account for every message', async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, 'bus.sock');
  let d = await DaemonProc.start(path);
  const sub = new Proc(['sub', 'load.x', '-s', path]);
  await sub.stderrHas('subscribed to load.x');
  const steady = new Tool(['steady', path, 'load.x', '400', '4']);
  await sleep(1500);
  const before = sub.stdout.split('\n').filter(Boolean).length;
  assert.ok(before > 100, `traffic flows before the crash (${before})`);
  d.kill('SIGKILL');
  await d.exited;
  await sleep(200);
  const restarted = Date.now();
  d = await DaemonProc.start(path);
  await sub.stderrHas('reconnected', 5000);
  await steady.wait('reconnected', () => true, 5000);
  const reconnectMs = Date.now() - restarted;
  // maxMs 500 (+20% jitter) for the publisher, 2000 (+20%) for the CLI default.
  assert.ok(reconnectMs < 2400 + 500, `reconnected ${reconnectMs} ms after the restart`);
  const final = (await steady.wait('attempted', () => true, 15_000)) as {
    attempted: number;
    refused: number;
    metrics: { sent: number; dropped: number; failed: number; reconnects: number };
  };
  assert.equal(final.metrics.reconnects, 1);
  assert.equal(
    final.metrics.sent + final.metrics.dropped + final.metrics.failed,
    final.attempted,
    'sent + dropped + failed = attempted',
  );
  await sleep(300);
  const numbers = sub.stdout.split('\n').filter(Boolean).map(Number);
  const afterCrash = numbers.filter((n) => n > before + 50);
  assert.ok(
    afterCrash.length > 100,
    `traffic continued after the restart (${afterCrash.length} messages)`,
  );
  assert.equal(numbers.at(-1), final.attempted - final.refused > 0 ? numbers.at(-1) : undefined);
  process.stderr.write(
    `# kill-9: attempted ${final.attempted}, sent ${final.metrics.sent}, failed ${final.metrics.failed}, reconnect ${reconnectMs} ms\n`,
  );
  sub.kill('SIGINT');
  await sub.exit();
  await d.stop();
  tmp.cleanup();
});

void test('priority: a priority-9 message overtakes a priority-0 backlog held for a stopped subscriber', async () => {
  const tmp = tempDir();
  const d = await DaemonProc.start(join(tmp.dir, 'bus.sock'), [
    '--max-queue-bytes',
    String(256 * MiB),
    '--max-queue-msgs',
    '1000000',
  ]);
  const slow = new Tool(['count', d.path, 'prio.x', 'drop-newest']);
  try {
    await slow.wait('ready');
    slow.child.kill('SIGSTOP');
    const N = 20_000;
    const backlog = new Tool(['publish', d.path, 'prio.x', String(N), '1024', '0']);
    await backlog.wait('published');
    const urgent = new Tool(['publish', d.path, 'prio.x', '1', '16', '9']);
    await urgent.wait('published');
    slow.child.kill('SIGCONT');
    const s = await slow.poll((l) => l.received + l.lost === N + 1);
    assert.equal(s.lost, 0);
    assert.equal(s.prioAt.length, 1);
    // Only what had already left the daemon's queue can arrive before it: the kernel's send
    // buffer of the daemon's end (twice --sock-buf, capped by wmem_max), one write chunk of
    // 256 KiB handed to Node, and a margin (frames are 1 KiB plus about 40 bytes).
    const inKernel = 2 * Math.min(DAEMON_SOCK_BUF, wmemMax() ?? DAEMON_SOCK_BUF);
    const bound = Math.ceil((inKernel + 256 * 1024) / 1024) + 500;
    assert.ok(
      s.prioAt[0]! < bound,
      `the priority-9 message arrived as number ${s.prioAt[0]} of ${N + 1} (bound ${bound})`,
    );
    process.stderr.write(
      `# priority: the urgent message arrived as number ${s.prioAt[0]} of ${N + 1}\n`,
    );
  } finally {
    slow.stop();
    await d.stop();
    tmp.cleanup();
  }
});
