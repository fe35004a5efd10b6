// Issue 8 acceptance: `udsbus sub flood --on-slow drop-oldest | (sleep 10; wc -l)` while
// 1,000,000 messages of 1 KiB are published. The CLI stops reading while its stdout is full, so
// its memory stays bounded (VmHWM < 150 MB) and the daemon drops for it, saying so with GAP:
// lines received + messages reported lost = messages published.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect, type Client } from '../../src/client/index.js';
import type { BrokerStatus } from '../../src/protocol/status.js';
import { BIN, daemonPerFile } from '../helpers/processes.js';

const MESSAGES = 1_000_000;
const SIZE = 1024;
const READER_SLEEP_S = 10;

const bus = daemonPerFile(['-q']);

async function status(c: Client): Promise<BrokerStatus> {
  return (await c.call('status')) as BrokerStatus;
}

async function until(pred: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** VmHWM (peak RSS) of a process, in MB. */
function peakRssMb(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m !== null, 'VmHWM in /proc/PID/status');
  return Number(m[1]) / 1024;
}

void test(
  `sub --on-slow drop-oldest | (sleep ${READER_SLEEP_S}; wc -l): ${MESSAGES} x ${SIZE} B, bounded RSS, received + GAP = published`,
  { timeout: 180_000 },
  async (t) => {
    const err = join(bus.dir, 'sub.err');
    const sh = spawn('sh', [
      '-c',
      `"${process.execPath}" "${BIN}" sub flood -s "${bus.path}" --on-slow drop-oldest 2>"${err}" | (sleep ${READER_SLEEP_S}; wc -l)`,
    ]);
    let wc = '';
    sh.stdout.on('data', (c: Buffer) => (wc += c.toString()));
    const shExit = new Promise<number | null>((resolve) => sh.on('close', resolve));
    const probe = await connect({ path: bus.path, name: 'flood probe', reconnect: false });
    let cliPid = 0;
    try {
      await until(
        async () => {
          const me = (await status(probe)).clients.find((c) => c.name === 'udsbus sub');
          cliPid = me?.pid ?? 0;
          return me !== undefined && me.subscriptions === 1;
        },
        'the sub to subscribe',
        10_000,
      );
      const pub = await connect({ path: bus.path, name: 'flood publisher', reconnect: false });
      const payload = Buffer.alloc(SIZE - 1, 'x'); // + '\n' printed by sub = 1 KiB lines
      const started = Date.now();
      for (let i = 0; i < MESSAGES; i++) {
        if (!pub.publish('flood', payload))
          await new Promise<void>((resolve) => pub.once('drain', resolve));
      }
      await pub.flush();
      const m = pub.metrics();
      await pub.close();
      assert.equal(m.dropped + m.failed, 0, 'every message reached the daemon');
      const publishMs = Date.now() - started;
      // The reader wakes after its sleep and drains the pipe; wait until the daemon has nothing
      // left queued for the sub, then stop it.
      await until(
        async () => {
          const me = (await status(probe)).clients.find(
            (c) => c.id !== probe.id && c.name === 'udsbus sub',
          );
          return me !== undefined && me.queuedMsgs === 0;
        },
        'the queue of the sub to empty',
        60_000,
      );
      await new Promise((r) => setTimeout(r, 500));
      const peak = peakRssMb(cliPid);
      process.kill(cliPid, 'SIGINT');
      assert.equal(await shExit, 0);
      const received = Number(wc.trim());
      const stderr = readFileSync(err, 'utf8');
      const gaps = [...stderr.matchAll(/^udsbus: gap: (\d+) messages dropped on flood /gm)];
      const lost = gaps.reduce((n, g) => n + Number(g[1]), 0);
      t.diagnostic(
        `published ${MESSAGES} in ${publishMs} ms; received ${received}; GAP notices ${gaps.length} reporting ${lost} lost; CLI VmHWM ${peak.toFixed(1)} MB`,
      );
      assert.ok(lost > 0, 'the slow reader made the daemon drop');
      assert.equal(received + lost, MESSAGES, stderr.slice(0, 2000));
      assert.ok(peak < 150, `CLI peak RSS ${peak.toFixed(1)} MB`);
    } finally {
      await probe.close();
      sh.kill('SIGKILL');
      if (cliPid > 0) {
        try {
          process.kill(cliPid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  },
);
