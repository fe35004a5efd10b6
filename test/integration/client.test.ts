// The client library against a real daemon process: backpressure, BufferFullError, metrics,
// reconnect with re-subscribe and re-serve, failures of requests in flight, graceful close.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BufferFullError, BusError, connect, ErrorCode, EventBus } from '../../src/client/index.js';
import { DaemonProc, tempDir } from '../helpers/processes.js';

let tmp: { dir: string; cleanup: () => void };
let daemon: DaemonProc;
let path: string;

before(async () => {
  tmp = tempDir();
  path = join(tmp.dir, 'bus.sock');
  daemon = await DaemonProc.start(path);
});

after(async () => {
  await daemon.stop();
  tmp.cleanup();
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

void test('publish returns false past the high-water mark and emits drain; a full queue throws BufferFullError and counts it', async () => {
  const c = await connect({
    path,
    reconnect: false,
    highWaterMark: 4096,
    maxQueueBytes: 64 * 1024,
    maxQueueMsgs: 1_000_000,
  });
  const payload = new Uint8Array(1000);
  let sawFalse = false;
  let i = 0;
  while (!sawFalse) {
    sawFalse = !c.publish('bp.x', payload);
    i++;
  }
  assert.ok(i <= 6, `false after ${i} messages with a 4 KiB high-water mark`);
  let thrown: unknown;
  try {
    for (let k = 0; k < 200; k++) c.publish('bp.x', payload);
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown instanceof BufferFullError);
  assert.equal(thrown.code, ErrorCode.BUFFER_FULL);
  const m = c.metrics();
  assert.equal(m.dropped, 1);
  assert.ok(m.queueDepth > 0);
  await new Promise<void>((resolve) => c.once('drain', resolve));
  await c.flush();
  const after = c.metrics();
  assert.equal(after.queueDepth, 0);
  assert.equal(after.sent + after.dropped, after.sent + 1, 'every attempt is sent or dropped');
  await c.close();
});

void test('an exception in a subscription callback is reported and the link stays up', async () => {
  const c = await connect({ path, reconnect: false });
  const errors: unknown[] = [];
  c.on('error', (e) => errors.push(e));
  let n = 0;
  c.subscribe('boom.x', () => {
    n++;
    if (n === 1) throw new Error('application bug');
  });
  await c.flush();
  const p = await connect({ path, reconnect: false });
  p.publish('boom.x', '1');
  p.publish('boom.x', '2');
  await p.flush();
  await c.flush();
  assert.equal(n, 2, 'the second message still arrived');
  assert.equal(errors.length, 1);
  assert.match((errors[0] as Error).message, /application bug/);
  assert.equal(c.connected, true);
  await p.close();
  await c.close();
});

void test('EventBus: emit publishes JSON, on subscribes with wildcards', async () => {
  const a = await connect({ path, reconnect: false });
  const b = await connect({ path, reconnect: false });
  const got: [unknown, string][] = [];
  new EventBus(b).on('user.*', (v, s) => got.push([v, s]));
  await b.flush();
  new EventBus(a).emit('user.login', { name: 'ada' });
  await a.flush();
  await b.flush();
  assert.deepEqual(got, [[{ name: 'ada' }, 'user.login']]);
  await a.close();
  await b.close();
});

void test('a subscription the daemon refuses ends with its error', async () => {
  const c = await connect({ path, reconnect: false });
  // Over the daemon's per-connection limit would take 10,000 subscriptions; a bad queue name is refused at once by the client,
  // so provoke the daemon with a raw-valid but daemon-refused pattern instead: none exist client-side, so check the limit path.
  const subs = [];
  for (let i = 0; i < 10_001; i++) subs.push(c.subscribe(`lim.${i}`));
  const last = subs[subs.length - 1]!;
  const err = await new Promise<BusError>((resolve) => last.once('error', resolve));
  assert.equal(err.code, ErrorCode.LIMIT);
  assert.equal(last.closed, true);
  assert.equal(subs[0]!.closed, false);
  await c.close();
});

void test('reconnect: after the daemon restarts, subscriptions and responders are restored; requests in flight fail with BUS_ERR_DISCONNECTED', async (t) => {
  const t2 = tempDir();
  const p2 = join(t2.dir, 'bus.sock');
  let d = await DaemonProc.start(p2);
  const svc = await connect({ path: p2, reconnect: { minMs: 20, maxMs: 200 } });
  const sub = await connect({ path: p2, reconnect: { minMs: 20, maxMs: 200 } });
  const cli = await connect({ path: p2, reconnect: { minMs: 20, maxMs: 200 } });
  t.after(async () => {
    await Promise.all([
      svc.close({ drainTimeoutMs: 0 }),
      sub.close({ drainTimeoutMs: 0 }),
      cli.close({ drainTimeoutMs: 0 }),
    ]);
    d.kill('SIGKILL');
    t2.cleanup();
  });
  let hang = true;
  svc.serve('svc.slow', async (m) => {
    if (hang) await sleep(10_000);
    return m.data;
  });
  const seen: string[] = [];
  sub.subscribe('re.x', (m) => seen.push(new TextDecoder().decode(m.data)));
  await svc.flush();
  await sub.flush();
  const inFlight = cli.request('svc.slow', 'x', { timeoutMs: 8000 }).then(
    () => null,
    (e: unknown) => e,
  );
  await sleep(100);
  const events: string[] = [];
  cli.on('disconnect', () => events.push('disconnect'));
  cli.on('reconnect', () => events.push('reconnect'));
  d.kill('SIGKILL');
  await d.exited;
  const failure = await inFlight;
  assert.ok(failure instanceof BusError);
  assert.equal(failure.code, ErrorCode.DISCONNECTED);
  // Published while the daemon is down: queued, sent in order after the reconnect.
  cli.publish('re.x', 'queued-1');
  cli.publish('re.x', 'queued-2');
  hang = false;
  d = await DaemonProc.start(p2);
  await new Promise<void>((resolve) =>
    cli.connected ? resolve() : cli.once('reconnect', () => resolve()),
  );
  await sub.flush();
  await svc.flush();
  await cli.flush();
  await sub.flush();
  const reply = await cli.request('svc.slow', 'again', { timeoutMs: 2000 });
  assert.equal(new TextDecoder().decode(reply.data), 'again', 'the responder was re-registered');
  cli.publish('re.x', 'after');
  await cli.flush();
  await sub.flush();
  assert.ok(seen.includes('after'), `the subscription was restored (saw ${JSON.stringify(seen)})`);
  const m = cli.metrics();
  assert.equal(m.reconnects, 1);
  // The two messages queued while offline were sent after the reconnect; nothing was lost.
  assert.equal(m.failed, 0, 'the request had reached the daemon; nothing was lost unsent');
  assert.equal(m.queueDepth, 0);
  assert.deepEqual(events, ['disconnect', 'reconnect']);
  assert.equal(await d.stop(), 0);
});

void test('close({ drainTimeoutMs }) delivers what was queued before closing', async () => {
  const s = await connect({ path, reconnect: false });
  let n = 0;
  s.subscribe('drain.x', () => n++);
  await s.flush();
  const p = await connect({ path, reconnect: false });
  for (let i = 0; i < 5000; i++) p.publish('drain.x', 'm');
  await p.close({ drainTimeoutMs: 5000 });
  assert.equal(p.metrics().sent, 5000);
  for (let i = 0; i < 50 && n < 5000; i++) await sleep(20);
  assert.equal(n, 5000);
  await s.close();
  assert.throws(() => p.publish('drain.x', 'late'), { code: ErrorCode.CLOSED });
});

void test('a request to a subject nobody serves is refused at once (under 100 ms)', async () => {
  const c = await connect({ path, reconnect: false });
  const t0 = performance.now();
  await assert.rejects(c.request('nobody.home', 'x', { timeoutMs: 5000 }), {
    code: ErrorCode.NO_RESPONDERS,
  });
  assert.ok(performance.now() - t0 < 100);
  await c.close();
});
