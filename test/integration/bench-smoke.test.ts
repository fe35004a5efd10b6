// Smoke run of every benchmark harness scenario (bench/harness/cli.ts, run directly) and of the peer suite (raw relay) with tiny counts,
// so the benchmark code cannot rot. Asserts shapes and accounting, never speed.

import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import type { BenchResult } from '../../bench/harness/types.js';
import { PEERS } from '../../bench/peers/peers.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const HARNESS = join(ROOT, 'dist/bench/harness/cli.js');
const SUITE = join(ROOT, 'dist/bench/peers/run.js');

const run = promisify(execFile);

async function bench(args: string[]): Promise<BenchResult> {
  const argv = [HARNESS, ...args, '--start-daemon', '--json'];
  let stdout: string;
  try {
    ({ stdout } = await run(process.execPath, argv, { encoding: 'utf8', timeout: 15_000 }));
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    assert.fail(`bench harness ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}`);
  }
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? '') as BenchResult;
}

function accounting(r: BenchResult, copies = 1): void {
  assert.equal(r.sent * copies, r.delivered + r.lost, JSON.stringify(r));
  assert.ok(r.delivered > 0, JSON.stringify(r));
  assert.ok(r.msgs_per_sec > 0, JSON.stringify(r));
  assert.equal(typeof r.mb_per_sec, 'number');
}

function latency(r: BenchResult): void {
  for (const f of ['p50_us', 'p90_us', 'p99_us', 'p999_us'] as const) {
    const v = r[f];
    assert.ok(typeof v === 'number' && v > 0, `${f} in ${JSON.stringify(r)}`);
  }
  assert.ok(r.p50_us! <= r.p99_us!, JSON.stringify(r));
}

// Each run mostly waits on process start-up: run them side by side.
void describe('bench harness', { concurrency: 3 }, () => {
  void test('harness pubsub 1->1 (tiny)', async () => {
    const r = await bench(['pubsub', '--size', '64', '--msgs', '2000', '--max-seconds', '3']);
    assert.equal(r.scenario, 'pubsub');
    accounting(r);
  });

  void test('harness pubsub 1->2 counts each delivery', async () => {
    const r = await bench([
      'pubsub',
      '--size',
      '16',
      '--msgs',
      '1000',
      '--subs',
      '2',
      '--max-seconds',
      '3',
    ]);
    accounting(r, 2);
  });

  void test('harness reqrep closed loop (tiny)', async () => {
    const r = await bench(['reqrep', '--size', '64', '--msgs', '200', '--warmup', '10']);
    assert.equal(r.mode, 'closed-loop');
    accounting(r);
    latency(r);
  });

  void test('harness reqrep fixed rate (tiny)', async () => {
    const r = await bench(['reqrep', '--msgs', '200', '--rate', '2000', '--warmup', '10']);
    assert.equal(r.mode, 'fixed-rate');
    accounting(r);
    latency(r);
  });

  void test('harness conns (50 idle clients)', async () => {
    const r = await bench(['conns', '--clients', '50']);
    accounting(r);
    assert.equal(r.delivered, 50);
    assert.ok(typeof r.rss_mb === 'number' && r.rss_mb > 0, JSON.stringify(r));
  });

  void test('harness rejects an unknown scenario with exit code 2', () => {
    const r = spawnSync(process.execPath, [HARNESS, 'nope'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown scenario/);
  });
});

void test('peer suite: raw relay, tiny counts, writes RESULTS.md', () => {
  const dir = mkdtempSync(join(tmpdir(), 'udsbus-bench-smoke-'));
  try {
    const r = spawnSync(
      process.execPath,
      [SUITE, '--tiny', '--only', 'raw-relay', '--out-dir', dir],
      { encoding: 'utf8', timeout: 15_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    const data = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as {
      medians: (BenchResult & { case: string })[];
    };
    const cases = data.medians.map((m) => m.case).sort();
    assert.deepEqual(cases, [
      'conns-1000',
      'pubsub-1-1-1k',
      'pubsub-1-1-64',
      'pubsub-1-10-64',
      'reqrep-64',
    ]);
    for (const m of data.medians) {
      const copies = m.scenario === 'pubsub' ? (m.subs ?? 1) : 1;
      accounting(m, copies);
      if (m.scenario === 'reqrep') latency(m);
    }
    const md = readFileSync(join(dir, 'RESULTS.md'), 'utf8');
    assert.match(md, /## Targets/);
    assert.match(md, /raw Node relay/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('peer suite: every installed Debian-package peer answers requests (tiny)', (t) => {
  const ids = ['nats', 'redis', 'mqtt-qos0', 'dbus', 'node-ipc'];
  const missing = PEERS.filter((p) => ids.includes(p.id))
    .map((p) => ({ id: p.id, why: p.missing() }))
    .filter((m): m is { id: string; why: string } => m.why !== undefined);
  if (missing.length > 0) {
    const text = missing.map((m) => `${m.id}: ${m.why}`).join('; ');
    if (process.env.UDSBUS_REQUIRE_E2E === '1') assert.fail(`peers missing: ${text}`);
    t.diagnostic(
      `skipping peers (apt-get install -y redis-server nats-server mosquitto dbus): ${text}`,
    );
  }
  const present = ids.filter((id) => !missing.some((m) => m.id === id));
  if (present.length === 0) {
    t.skip('no peer server installed');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'udsbus-bench-smoke-'));
  try {
    const r = spawnSync(
      process.execPath,
      [SUITE, '--tiny', '--only', present.join(','), '--scenarios', 'reqrep-64', '--out-dir', dir],
      { encoding: 'utf8', timeout: 15_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    const data = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as {
      medians: BenchResult[];
    };
    assert.deepEqual(data.medians.map((m) => m.peer).sort(), [...present].sort());
    for (const m of data.medians) {
      accounting(m);
      latency(m);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
