// Daemon timers and trigger (issue 10, point 3) through the real CLI and client library against
// a real daemon process: exactly COUNT ticks with seq 1..COUNT, stop ends one early, a
// 1,000 x 10 ms run ends within 2% of 10 s, the errors, `trigger` and the status totals.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, type Client, type Msg } from '../../src/client/index.js';
import { daemonPerFile, runCli } from '../helpers/processes.js';

const bus = daemonPerFile(['--no-persist']);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

async function cli(args: string[]): ReturnType<typeof runCli> {
  return runCli([...args, '-s', bus.path]);
}

/** A client collecting what arrives on `subject`; resolves once it is subscribed. */
async function collect(subject: string): Promise<{ client: Client; msgs: Msg[] }> {
  const client = await connect({ path: bus.path, name: 'test' });
  const msgs: Msg[] = [];
  client.subscribe(subject, (m) => msgs.push(m));
  await client.flush();
  return { client, msgs };
}

async function until(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const seqs = (msgs: Msg[]): number[] => msgs.map((m) => Number(m.headers?.['seq']));

void test('acceptance: timer start t --every 50 --count 5 delivers exactly 5 ticks, seq 1..5, on timer.t', async () => {
  const { client, msgs } = await collect('timer.t');
  try {
    const r = await cli(['timer', 'start', 't', '--every', '50', '--count', '5']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'timer t: every 50 ms on timer.t, 5 ticks\n');
    await until(() => msgs.length >= 5, '5 ticks');
    await new Promise((r) => setTimeout(r, 300)); // nothing after the fifth
    assert.deepEqual(seqs(msgs), [1, 2, 3, 4, 5]);
    for (const [i, m] of msgs.entries()) {
      assert.equal(m.from, 0, 'ticks come from the daemon');
      assert.equal(m.headers?.['timer'], 't');
      const body = JSON.parse(text(m.data)) as { timer: string; seq: number; due: number };
      assert.equal(body.timer, 't');
      assert.equal(body.seq, i + 1);
      if (i > 0) {
        const prev = JSON.parse(text(msgs[i - 1]!.data)) as { due: number };
        assert.equal(body.due - prev.due, 50, 'due times are start + N x interval');
      }
    }
    const ls = await cli(['timer', 'ls']);
    assert.equal(ls.stdout, 'no timers\n', 'a timer with a count is gone after its last tick');
  } finally {
    await client.close();
  }
});

void test('timer stop ends a timer early; the timer outlived the CLI that started it', async () => {
  const { client, msgs } = await collect('ticks.early');
  try {
    const r = await cli(['timer', 'start', 'early', '--every', '20', '--subject', 'ticks.early']);
    assert.equal(r.code, 0, r.stderr);
    await until(() => msgs.length >= 3, '3 ticks');
    const ls = await cli(['timer', 'ls', '--json']);
    const list = JSON.parse(ls.stdout) as { name: string; subject: string; intervalMs: number }[];
    assert.deepEqual(
      list.map((t) => [t.name, t.subject, t.intervalMs]),
      [['early', 'ticks.early', 20]],
    );
    const stop = await cli(['timer', 'stop', 'early']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, /^timer early: stopped after \d+ ticks\n$/);
    const n = msgs.length;
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(msgs.length <= n + 1, 'at most a tick already on its way after the stop');
    assert.deepEqual(
      seqs(msgs),
      msgs.map((_, i) => i + 1),
    );
    const again = await cli(['timer', 'stop', 'early']);
    assert.equal(again.code, 1);
    assert.equal(again.stderr, 'udsbus: timer.stop: no timer early is running\n');
  } finally {
    await client.close();
  }
});

void test(
  '1,000 ticks at 10 ms end within 2% of 10 s (no drift)',
  { timeout: 30_000 },
  async () => {
    const { client, msgs } = await collect('timer.precise');
    try {
      const info = await client.startTimer('precise', 10, { count: 1000 });
      await until(() => seqs(msgs).includes(1000), 'tick 1000', 20_000);
      const elapsed = Date.now() - info.startedAt;
      assert.ok(Math.abs(elapsed - 10_000) <= 200, `1,000 x 10 ms took ${elapsed} ms`);
      // Every tick is sent, or reported as skipped on the tick after it: never bunched.
      const skipped = msgs.reduce((n, m) => n + Number(m.headers?.['skipped'] ?? 0), 0);
      assert.equal(msgs.length + skipped, 1000);
    } finally {
      await client.close();
    }
  },
);

void test('timer errors: usage (exit 2) before connecting, daemon refusals (exit 1) with the op and name', async () => {
  const noEvery = await cli(['timer', 'start', 'x']);
  assert.equal(noEvery.code, 2);
  assert.match(noEvery.stderr, /^udsbus: timer start needs --every MS\n/);
  const badName = await cli(['timer', 'start', 'a.b', '--every', '10']);
  assert.equal(badName.code, 2);
  const tooFast = await cli(['timer', 'start', 'fast', '--every', '1']);
  assert.equal(tooFast.code, 1);
  assert.equal(
    tooFast.stderr,
    'udsbus: timer.start fast: intervalMs must be an integer from 5 to 86400000 (got 1)\n',
  );
  const sys = await cli(['timer', 'start', 'sys', '--every', '10', '--subject', '$SYS.fake']);
  assert.equal(sys.code, 1);
  assert.equal(sys.stderr, 'udsbus: timer.start: only the daemon publishes on $SYS.fake\n');
  const client = await connect({ path: bus.path });
  try {
    await client.startTimer('dup', 1000);
    await assert.rejects(client.startTimer('dup', 1000), { code: 'BUS_ERR_CONFLICT' });
    assert.equal((await client.startTimer('dup', 500, { replace: true })).intervalMs, 500);
    assert.equal((await client.status()).totals.timers, 1);
    await client.stopTimer('dup');
    assert.equal((await client.status()).totals.timers, 0);
  } finally {
    await client.close();
  }
});

void test('trigger publishes DATA on event.EVENT from the daemon, naming the client', async () => {
  const { client, msgs } = await collect('event.>');
  try {
    const r = await cli(['trigger', 'door.open', 'front']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'event.door.open: 1 receiver\n');
    await until(() => msgs.length === 1, 'the event');
    const m = msgs[0]!;
    assert.equal(m.subject, 'event.door.open');
    assert.equal(text(m.data), 'front');
    assert.equal(m.from, 0);
    assert.match(m.headers?.['client'] ?? '', /^\d+$/);
    assert.deepEqual(await client.trigger('x'), { subject: 'event.x', receivers: 1 });
    const echo = await cli(['echo', 'hello there']);
    assert.equal(echo.stdout, 'hello there\n');
    assert.equal(text(await client.echo(new Uint8Array([0, 1, 2]))), '\0\x01\x02');
  } finally {
    await client.close();
  }
});
