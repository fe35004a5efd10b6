// The client in-process: over the memory transport, against a real Broker or a scripted fake
// daemon, on a ManualClock. Nothing here spawns a process or sleeps; time moves by advance().

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Broker } from '../../src/broker/broker.js';
import { Client, connect, type ConnectOptions } from '../../src/client/index.js';
import type { GapInfo, Msg } from '../../src/client/subscription.js';
import { ManualClock } from '../../src/protocol/clock.js';
import { Op, ReplyStatus } from '../../src/protocol/constants.js';
import { encodeError } from '../../src/protocol/control-frames.js';
import { daemonSender, encodeReply } from '../../src/protocol/delivery-frames.js';
import { BufferFullError, BusError, ErrorCode } from '../../src/protocol/errors.js';
import { decodeReq } from '../../src/protocol/message-frames.js';
import { MemoryTransport, type Attachable } from '../../src/transport/memory.js';
import { FakeDaemon } from '../helpers/fake-daemon.js';

/** Lets microtasks and a few event-loop turns run (the broker flushes once per turn). */
async function settle(turns = 4): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

interface Rig {
  clock: ManualClock;
  net: MemoryTransport;
  open: (options?: ConnectOptions) => Promise<Client>;
}

function rig(target: Attachable = new Broker()): Rig {
  const clock = new ManualClock();
  const net = new MemoryTransport(target);
  return {
    clock,
    net,
    open: (options = {}) => connect({ path: 'mem', dial: net.dial, clock, ...options }),
  };
}

const text = (m: { data: Uint8Array }): string => new TextDecoder().decode(m.data);

void test('publish and subscribe over the memory transport against a real Broker', async () => {
  const { open } = rig();
  const a = await open();
  const b = await open();
  const got: string[] = [];
  b.subscribe('t.x', (m) => got.push(`${m.subject}:${text(m)}`));
  await b.flush();
  a.publish('t.x', 'one');
  a.publish('t.x', 'two', { headers: { k: 'v' }, type: 7 });
  await a.flush();
  await settle();
  assert.deepEqual(got, ['t.x:one', 't.x:two']);
  assert.equal(a.metrics().sent, 2);
  await a.close();
  await b.close();
});

void test('reconnect: backoff on the clock (min, x factor, capped), then re-subscribe and deliver what was queued offline', async () => {
  const { clock, net, open } = rig();
  const c = await open({ reconnect: { minMs: 100, maxMs: 300, factor: 2, jitter: 0 } });
  const other = await open({ reconnect: false });
  const got: string[] = [];
  const events: string[] = [];
  c.subscribe('r.x', (m) => got.push(text(m))).on('gap', (g: GapInfo) =>
    events.push(`gap ${g.subject} lost=${g.lost} local=${g.local} reconnect=${g.reconnect}`),
  );
  c.serve('r.svc', () => 'ok'); // a responder loses nothing to report
  await c.flush();
  c.on('disconnect', (e: BusError) => events.push(`disconnect ${e.code}`));
  c.on('reconnect', () => events.push('reconnect'));

  net.refuse = 'ECONNREFUSED';
  net.links[0]!.destroy();
  await settle();
  assert.deepEqual(events, ['disconnect BUS_ERR_DISCONNECTED']);
  assert.equal(c.connected, false);
  const dials = net.dials;
  c.publish('r.x', 'queued while offline');
  assert.equal(c.metrics().queueDepth, 1);

  // Attempts at +100, +200 (x2), +300 (capped at maxMs), +300.
  for (const [wait, expected] of [
    [99, 0],
    [1, 1],
    [199, 1],
    [1, 2],
    [299, 2],
    [1, 3],
    [300, 4],
  ] as const) {
    clock.advance(wait);
    await settle();
    assert.equal(net.dials - dials, expected, `after +${wait} ms`);
  }
  net.refuse = undefined;
  clock.advance(300);
  await settle();
  assert.equal(c.connected, true);
  // Messages published while the subscription was gone cannot be counted: a gap of unknown size.
  assert.deepEqual(events.slice(-2), ['reconnect', 'gap r.x lost=0 local=true reconnect=true']);
  assert.equal(c.metrics().reconnects, 1);
  await c.flush();
  other.publish('r.x', 'after');
  await other.flush();
  await settle();
  // The offline message reached the broker after the SUB; the subscription works again.
  assert.deepEqual(got, ['queued while offline', 'after']);
  assert.equal(c.metrics().sent, 1);
  await c.close();
  await other.close();
});

void test('reconnect gives up after maxAttempts: close with the last error, queued messages counted as failed', async () => {
  const { clock, net, open } = rig();
  const c = await open({ reconnect: { minMs: 10, maxMs: 10, jitter: 0, maxAttempts: 2 } });
  let closed: BusError | undefined;
  c.on('close', (e: BusError) => (closed = e));
  net.refuse = 'ECONNREFUSED';
  net.dropAll();
  await settle();
  c.publish('g.x', 'lost');
  for (let i = 0; i < 3; i++) {
    clock.advance(10);
    await settle();
  }
  assert.equal(c.closed, true);
  assert.equal(closed?.code, ErrorCode.CONNECT);
  assert.equal(c.metrics().failed, 1);
  assert.throws(
    () => c.publish('g.x', 'x'),
    (e: unknown) => e instanceof BusError && e.code === ErrorCode.CLOSED,
  );
});

void test('outbox: false past the high-water mark, BufferFullError past the bound (counted), drain once below half', async () => {
  const { net, open } = rig();
  const c = await open({
    highWaterMark: 4096,
    maxQueueBytes: 16 * 1024,
    maxQueueMsgs: 1000,
    reconnect: false,
  });
  const payload = new Uint8Array(1000);
  const results: boolean[] = [];
  let full: unknown;
  for (let i = 0; i < 20 && full === undefined; i++) {
    try {
      results.push(c.publish('o.x', payload));
    } catch (err) {
      full = err;
    }
  }
  const frame = c.metrics().queuedBytes / c.metrics().queueDepth;
  assert.equal(
    results.indexOf(false),
    Math.ceil(4096 / frame) - 1,
    'false from the frame that reaches 4096 bytes',
  );
  assert.ok(results.slice(results.indexOf(false)).every((r) => !r));
  assert.ok(full instanceof BufferFullError);
  assert.equal(results.length, Math.floor((16 * 1024) / frame), 'as many as fit in 16 KiB');
  assert.equal(c.metrics().dropped, 1);
  assert.equal(c.metrics().queueDepth, results.length);
  let drained = 0;
  c.on('drain', () => drained++);
  await settle();
  assert.equal(drained, 1);
  assert.equal(c.metrics().queueDepth, 0);
  assert.equal(c.metrics().queuedBytes, 0);
  assert.equal(c.metrics().sent, results.length);
  assert.ok(net.current !== undefined);
  await c.close();
});

void test('outbox: the message bound counts too, and control frames never count', async () => {
  const { open } = rig();
  const c = await open({ maxQueueMsgs: 3, reconnect: false });
  c.publish('m.x', 'a');
  c.publish('m.x', 'b');
  c.subscribe('m.y', () => undefined);
  c.publish('m.x', 'c');
  assert.throws(() => c.publish('m.x', 'd'), BufferFullError);
  assert.equal(c.metrics().queueDepth, 3);
  await c.close();
});

void test('request: times out on the clock, exactly at timeoutMs', async () => {
  const { clock, open } = rig();
  const responder = await open();
  responder.serve('slow.x', () => new Promise<string>(() => undefined));
  await responder.flush();
  const c = await open();
  let outcome = undefined as unknown;
  c.request('slow.x', 'q', { timeoutMs: 1000 }).then(
    () => (outcome = 'resolved'),
    (e: unknown) => (outcome = e),
  );
  await settle();
  clock.advance(999);
  await settle();
  assert.equal(String(outcome), 'undefined');
  clock.advance(1);
  await settle();
  assert.ok(outcome instanceof BusError);
  assert.equal(outcome.code, ErrorCode.TIMEOUT);
  await c.close();
  await responder.close();
});

void test('request: no responders fails at once, without the clock moving', async () => {
  const { open } = rig();
  const c = await open();
  await assert.rejects(c.request('nobody.x', 'q', { timeoutMs: 60_000 }), (e: unknown) => {
    return e instanceof BusError && e.code === ErrorCode.NO_RESPONDERS;
  });
  await c.close();
});

void test('request and reply round trip; a throwing handler becomes RESPONDER_FAILED', async () => {
  const { open } = rig();
  const r = await open();
  r.serve('echo.x', (m) => ({ data: `re:${text(m)}`, type: 3, headers: { h: '1' } }));
  r.serve('fail.x', () => {
    throw new Error('boom');
  });
  await r.flush();
  const c = await open();
  const reply = await c.request('echo.x', 'hi');
  assert.equal(text(reply), 're:hi');
  assert.equal(reply.type, 3);
  assert.deepEqual({ ...reply.headers }, { h: '1' });
  assert.equal(reply.from, r.id);
  await assert.rejects(c.request('fail.x', 'q'), (e: unknown) => {
    return e instanceof BusError && e.code === ErrorCode.RESPONDER_FAILED && /boom/.test(e.message);
  });
  await c.close();
  await r.close();
});

void test('a REPLY with status 4 (BAD_SUBJECT) fails the request at once with BUS_ERR_BAD_SUBJECT', async () => {
  const fake = new FakeDaemon();
  fake.onFrame = (fc, body) => {
    if (body[0] !== Op.REQ) return;
    const req = decodeReq(body);
    fc.conn.write(
      encodeReply(
        req.reqId,
        ReplyStatus.BAD_SUBJECT,
        0,
        daemonSender(0, 1),
        new TextEncoder().encode('reserved subject'),
      ),
    );
  };
  const { clock, open } = rig(fake);
  const c = await open();
  await assert.rejects(c.request('$SYS.x', 'q', { timeoutMs: 60_000 }), (e: unknown) => {
    return (
      e instanceof BusError &&
      e.code === ErrorCode.BAD_SUBJECT &&
      /reserved subject/.test(e.message) &&
      e.detail?.['status'] === ReplyStatus.BAD_SUBJECT
    );
  });
  assert.equal(clock.pending > 0, false, 'no timer left behind');
  await c.close({ drainTimeoutMs: 0 });
});

void test('each non-OK REPLY status maps to its error code', async () => {
  const statuses: [number, string][] = [
    [ReplyStatus.ERROR, ErrorCode.RESPONDER_FAILED],
    [ReplyStatus.NO_RESPONDERS, ErrorCode.NO_RESPONDERS],
    [ReplyStatus.RESPONDER_GONE, ErrorCode.RESPONDER_GONE],
    [ReplyStatus.BAD_SUBJECT, ErrorCode.BAD_SUBJECT],
  ];
  const fake = new FakeDaemon();
  fake.onFrame = (fc, body) => {
    if (body[0] !== Op.REQ) return;
    const req = decodeReq(body);
    const status = Number(req.subject.split('.')[1]);
    fc.conn.write(encodeReply(req.reqId, status, 0, daemonSender(0, 1), new Uint8Array(0)));
  };
  const { open } = rig(fake);
  const c = await open();
  for (const [status, code] of statuses) {
    await assert.rejects(
      c.request(`s.${status}`, ''),
      (e: unknown) => e instanceof BusError && e.code === code,
    );
  }
  await c.close({ drainTimeoutMs: 0 });
});

void test('an ERROR frame carrying a client-only code is a protocol error: the link is dropped', async () => {
  const fake = new FakeDaemon();
  const { open } = rig(fake);
  const c = await open({ reconnect: false });
  let closed: BusError | undefined;
  c.on('close', (e: BusError) => (closed = e));
  fake.conns[0]!.conn.write(
    encodeError({ code: ErrorCode.TIMEOUT as never, message: 'x', fatal: false }),
  );
  await settle();
  assert.equal(c.closed, true);
  assert.equal(closed?.code, ErrorCode.PROTOCOL);
});

void test('a non-fatal ERROR keeps its detail; a fatal one closes the link with it', async () => {
  const fake = new FakeDaemon();
  const { open } = rig(fake);
  const c = await open({ reconnect: false });
  const errors: BusError[] = [];
  c.on('error', (e: BusError) => errors.push(e));
  let closed: BusError | undefined;
  c.on('close', (e: BusError) => (closed = e));
  const conn = fake.conns[0]!.conn;
  conn.write(
    encodeError({
      code: ErrorCode.NO_SUCH_CLIENT,
      message: 'no client 9',
      fatal: false,
      detail: { op: 'SEND', to: 9 },
    }),
  );
  await settle();
  assert.equal(errors[0]?.code, ErrorCode.NO_SUCH_CLIENT);
  assert.deepEqual(errors[0]?.detail, { op: 'SEND', to: 9 });
  assert.equal(errors[0]?.fatal, false);
  conn.write(encodeError({ code: ErrorCode.LIMIT, message: 'too many', fatal: true }));
  await settle();
  assert.equal(closed?.code, ErrorCode.LIMIT);
  assert.equal(closed?.fatal, true);
});

void test('keepalive on the clock: PINGs every pingMs; maxPingsOut unanswered drops the link', async () => {
  const fake = new FakeDaemon(); // never answers PING
  const { clock, open } = rig(fake);
  const c = await open({ pingMs: 1000, maxPingsOut: 2, reconnect: false });
  let closed: BusError | undefined;
  c.on('close', (e: BusError) => (closed = e));
  clock.advance(1000);
  await settle();
  assert.equal(fake.ofOp(Op.PING).length, 1);
  clock.advance(1000);
  await settle();
  assert.equal(fake.ofOp(Op.PING).length, 2);
  assert.equal(c.closed, false);
  clock.advance(1000);
  await settle();
  assert.equal(closed?.code, ErrorCode.DISCONNECTED);
  assert.match(closed?.message ?? '', /2 pings unanswered/);
});

void test('keepalive waits while input is paused', async () => {
  const fake = new FakeDaemon();
  const { clock, open } = rig(fake);
  const c = await open({ pingMs: 1000, maxPingsOut: 1, reconnect: false });
  c.pauseInput();
  assert.equal(c.inputPaused, true);
  clock.advance(10_000);
  await settle();
  assert.equal(c.closed, false);
  assert.equal(fake.ofOp(Op.PING).length, 0);
  c.resumeInput();
  assert.equal(c.inputPaused, false);
  await c.close({ drainTimeoutMs: 0 });
});

void test('connect timeout on the clock: no HELLO within connectTimeoutMs rejects ready', async () => {
  const silent: Attachable = {
    attach: () => ({ data: () => undefined, drain: () => undefined, close: () => undefined }),
  };
  const { clock, open } = rig(silent);
  const p = open({ connectTimeoutMs: 500 });
  let err = undefined as unknown;
  p.catch((e: unknown) => (err = e));
  await settle();
  clock.advance(499);
  await settle();
  assert.equal(String(err), 'undefined');
  clock.advance(1);
  await settle();
  assert.ok(err instanceof BusError);
  assert.equal(err.code, ErrorCode.HANDSHAKE);
});

/** Publishes `n` messages `0..n-1` on `subject` from a second client and lets them arrive. */
async function publishN(c: Client, subject: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) c.publish(subject, String(i));
  await c.flush();
  await settle();
}

void test('async iteration: drop-oldest keeps the newest maxBuffered and reports a local GAP before them', async () => {
  const { open } = rig();
  const c = await open();
  const p = await open();
  const sub = c.subscribe('it.x', { maxBuffered: 5, onSlow: 'drop-oldest' });
  const gaps: GapInfo[] = [];
  sub.on('gap', (g: GapInfo) => gaps.push(g));
  await c.flush();
  await publishN(p, 'it.x', 8);
  assert.equal(sub.buffered, 5);
  assert.equal(sub.droppedLocal, 3);
  assert.equal(sub.dropped, 0, 'the daemon lost nothing');
  const got: string[] = [];
  const seenGapsBefore: number[] = [];
  for await (const m of sub) {
    seenGapsBefore.push(gaps.length);
    got.push(text(m));
    if (got.length === 5) break;
  }
  assert.deepEqual(got, ['3', '4', '5', '6', '7']);
  assert.equal(gaps.length, 1);
  assert.equal(gaps[0]!.local, true);
  assert.equal(gaps[0]!.lost, 3);
  assert.equal(gaps[0]!.lastId - gaps[0]!.firstId, 2);
  assert.equal(seenGapsBefore[0], 1, 'the gap is reported before the first message after it');
  assert.equal(sub.closed, true, 'break ends the subscription');
  await c.close();
  await p.close();
});

void test('async iteration: drop-newest keeps the first maxBuffered; received = delivered + droppedLocal', async () => {
  const { open } = rig();
  const c = await open();
  const p = await open();
  const sub = c.subscribe('it.y', { maxBuffered: 4, onSlow: 'drop-newest' });
  await c.flush();
  await publishN(p, 'it.y', 10);
  const got: string[] = [];
  for await (const m of sub) {
    got.push(text(m));
    if (got.length === 4) break;
  }
  assert.deepEqual(got, ['0', '1', '2', '3']);
  assert.equal(sub.received, 10);
  assert.equal(sub.droppedLocal, 6);
  await c.close();
  await p.close();
});

void test('async iteration: disconnect (the default) ends the subscription; the iterator yields what it holds, then throws SLOW_CONSUMER', async () => {
  const { open } = rig();
  const c = await open({ maxBuffered: 3 });
  const p = await open();
  const sub = c.subscribe('it.z');
  assert.equal(sub.maxBuffered, 3);
  await c.flush();
  await publishN(p, 'it.z', 5);
  assert.equal(sub.closed, true);
  const got: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const m of sub) got.push(text(m));
    })(),
    (e: unknown) =>
      e instanceof BusError && e.code === ErrorCode.SLOW_CONSUMER && e.detail?.['local'] === true,
  );
  assert.deepEqual(got, ['0', '1', '2']);
  // Unsubscribed in the daemon too: later messages do not arrive.
  await publishN(p, 'it.z', 2);
  assert.equal(sub.received, 4);
  await c.close();
  await p.close();
});

void test('async iteration: a consumer that keeps up loses nothing', async () => {
  const { open } = rig();
  const c = await open({ maxBuffered: 2 });
  const p = await open();
  const sub = c.subscribe('it.w');
  await c.flush();
  const got: Msg[] = [];
  const reading = (async () => {
    for await (const m of sub) {
      got.push(m);
      if (got.length === 6) break;
    }
  })();
  for (let i = 0; i < 6; i++) {
    p.publish('it.w', String(i));
    await p.flush();
    await settle();
  }
  await reading;
  assert.deepEqual(got.map(text), ['0', '1', '2', '3', '4', '5']);
  assert.equal(sub.droppedLocal, 0);
  await c.close();
  await p.close();
});

void test('pauseInput: the daemon sees a slow reader and applies drop-newest; after resumeInput received + GAP = published', async () => {
  const broker = new Broker({ maxQueueMsgs: 50, maxQueueBytes: 1024 * 1024 });
  const { open } = rig(broker);
  const c = await open();
  const p = await open();
  let received = 0;
  const sub = c.subscribe('fc.x', { onSlow: 'drop-newest' });
  void (async () => {
    for await (const _m of sub) received += _m.sid > 0 ? 1 : 0;
  })();
  const gaps: GapInfo[] = [];
  sub.on('gap', (g: GapInfo) => gaps.push(g));
  await c.flush();
  c.pauseInput();
  const N = 5000;
  const payload = new Uint8Array(100);
  for (let i = 0; i < N; i++) {
    if (!p.publish('fc.x', payload)) await new Promise((r) => p.once('drain', r));
  }
  await p.flush();
  await settle(10);
  assert.equal(received, 0, 'nothing is read while paused');
  c.resumeInput();
  await settle(20);
  await c.flush();
  await settle(10);
  const lost = gaps.reduce((a, g) => a + g.lost, 0);
  assert.ok(lost > 0, 'the daemon dropped for the paused reader');
  assert.ok(gaps.every((g) => !g.local));
  assert.equal(received + lost, N);
  assert.equal(sub.dropped, lost);
  await c.close();
  await p.close();
});
