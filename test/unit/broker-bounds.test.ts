// Tests that everything the broker queues for a connection counts against that connection's
// bound: replies to its own frames (PONG, non-fatal ERROR, CALL_REPLY, immediate REPLY) pause
// its reads once over the bound, until its queue drains to half. In-memory Conns, ManualClock.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Broker, type BrokerOptions } from '../../src/broker/broker.js';
import { ManualClock } from '../../src/protocol/clock.js';
import { Op, PROTOCOL_VERSION } from '../../src/protocol/constants.js';
import {
  encodeBare,
  encodeCall,
  encodeHello,
  encodeSub,
} from '../../src/protocol/control-frames.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { encodePub, encodeReq } from '../../src/protocol/message-frames.js';
import { MemPeer, helloPeer, tick } from '../helpers/mem-conn.js';

function makeBroker(options: BrokerOptions = {}): Broker {
  return new Broker({
    clock: new ManualClock(),
    schedule: (fn) => queueMicrotask(fn),
    ...options,
  });
}

function repeat(frame: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(frame.length * n);
  for (let i = 0; i < n; i++) out.set(frame, i * frame.length);
  return out;
}

/** Feeds `frame` in chunks of `perChunk` while the peer is read; returns the frames fed. */
function flood(peer: MemPeer, frame: Uint8Array, perChunk: number, chunks: number): number {
  const chunk = repeat(frame, perChunk);
  let fed = 0;
  for (let i = 0; i < chunks && !peer.paused; i++) {
    peer.send(chunk);
    fed += perChunk;
  }
  return fed;
}

async function queued(broker: Broker, id: number): Promise<number> {
  await tick();
  return broker.status().clients.find((c) => c.id === id)?.queuedMsgs ?? -1;
}

void test('PING flood from a client that never reads: paused at its message bound, resumed at half', async () => {
  const broker = makeBroker({ maxQueueMsgs: 1000 });
  const peer = await helloPeer(broker, 'flooder');
  peer.writeResult = false; // the client never reads: its socket is full
  peer.send(encodeBare(Op.PING)); // the first write saturates the socket
  await tick();
  const fed = flood(peer, encodeBare(Op.PING), 100, 1000);
  assert.ok(peer.paused, 'the flooder is no longer read');
  assert.ok(fed <= 1200, `paused within one chunk of its bound (fed ${fed})`);
  const n = await queued(broker, peer.id);
  assert.ok(n > 1000 && n <= 1100, `its queue is bounded (${n} frames)`);
  // The client reads again: its queue drains and reading resumes.
  peer.writeResult = true;
  peer.events.drain();
  await tick();
  assert.equal(peer.paused, false, 'resumed once drained');
  assert.equal(await queued(broker, peer.id), 0);
  assert.ok(peer.ofOp(Op.PONG).length >= 1000, 'every PING was answered');
});

void test('refusals past the subscription limit and CALL_REPLYs count against the byte bound too', async () => {
  const broker = makeBroker({ maxQueueBytes: 64 * 1024, maxSubscriptions: 1 });
  const peer = await helloPeer(broker, 'flooder');
  peer.send(encodeSub({ sid: 1, subject: 'a' }));
  peer.writeResult = false;
  peer.send(encodeBare(Op.PING));
  await tick();
  flood(peer, encodeSub({ sid: 2, subject: 'b' }), 50, 10_000);
  assert.ok(peer.paused, 'paused by its refusals');
  const st = broker.status().clients.find((c) => c.id === peer.id)!;
  assert.ok(st.queuedBytes < 128 * 1024, `queued ${st.queuedBytes} bytes`);
  peer.writeResult = true;
  peer.events.drain();
  await tick();
  assert.equal(peer.paused, false);
  const errors = peer.errors();
  assert.ok(errors.length > 0 && errors.every((e) => e.code === ErrorCode.LIMIT && !e.fatal));

  // CALLs and requests nobody serves: the same bound.
  peer.reset();
  peer.writeResult = false;
  peer.send(encodeBare(Op.PING));
  await tick();
  flood(peer, encodeCall(1, 'echo', { pad: 'x'.repeat(200) }), 20, 10_000);
  assert.ok(peer.paused, 'paused by its CALL_REPLYs');
  peer.writeResult = true;
  peer.events.drain();
  await tick();
  assert.equal(peer.paused, false);
  peer.writeResult = false;
  peer.send(encodeBare(Op.PING));
  await tick();
  flood(peer, encodeReq(1, 1000, 'nobody', new Uint8Array(100)), 50, 10_000);
  assert.ok(peer.paused, 'paused by its NO_RESPONDERS replies');
});

void test('a paused flooder does not hold up other clients', async () => {
  const broker = makeBroker({ maxQueueMsgs: 100 });
  const flooder = await helloPeer(broker, 'flooder');
  const other = await helloPeer(broker, 'other');
  flooder.writeResult = false;
  flooder.send(encodeBare(Op.PING));
  await tick();
  flood(flooder, encodeBare(Op.PING), 50, 100);
  assert.ok(flooder.paused);
  other.send(encodeBare(Op.PING));
  await tick();
  assert.equal(other.paused, false);
  assert.equal(other.ofOp(Op.PONG).length, 1);
});

void test('before HELLO only 1 KiB frames are accepted: a larger announced length is fatal at once', async () => {
  const broker = makeBroker();
  const peer = new MemPeer(broker);
  peer.send(Uint8Array.from([0x81, 0x08])); // 1025 announced, no body
  await tick();
  const [e] = peer.errors();
  assert.equal(e?.code, ErrorCode.FRAME_TOO_LARGE);
  assert.equal(e.fatal, true);
  assert.match(e.message, /exceeds the maximum of 1024 bytes before HELLO/);
  assert.ok(peer.ended, 'closed');

  // 1024 is allowed before HELLO (a HELLO padded with an unknown key), and after it maxFrame.
  const ok = new MemPeer(broker);
  const hello = encodeHello(PROTOCOL_VERSION, { name: 'n', pad: 'x'.repeat(1000) });
  assert.ok(hello.length > 1000 && hello.length <= 1026, `hello frame ${hello.length} bytes`);
  ok.send(hello, encodePub('big', new Uint8Array(100_000)));
  await tick();
  assert.equal(ok.ofOp(Op.HELLO).length, 1);
  assert.deepEqual(ok.errors(), []);
});

void test('bus-wide subscription limit: a SUB past it gets a non-fatal BUS_ERR_LIMIT naming it, counted in status; room comes back when a client leaves', async () => {
  const broker = makeBroker({ maxSubscriptionsTotal: 5 });
  const a = await helloPeer(broker, 'a');
  const b = await helloPeer(broker, 'b');
  for (let i = 1; i <= 3; i++) a.send(encodeSub({ sid: i, subject: `a.${i}` }));
  for (let i = 1; i <= 3; i++) b.send(encodeSub({ sid: i, subject: `b.${i}`, queue: 'g' }));
  await tick();
  const [e] = b.errors();
  assert.equal(e?.code, ErrorCode.LIMIT);
  assert.equal(e.fatal, false);
  assert.equal(e.message, 'more than 5 subscriptions on the bus (maxSubscriptionsTotal)');
  assert.deepEqual(e.detail, { sid: 3, subject: 'b.3' });
  let totals = broker.status().totals;
  assert.equal(totals.subscriptions, 5);
  assert.equal(totals.subscriptionsRefused, 1);
  a.close();
  await tick();
  totals = broker.status().totals;
  assert.equal(totals.subscriptions, 2);
  b.reset();
  b.send(encodeSub({ sid: 3, subject: 'b.3' }));
  await tick();
  assert.deepEqual(b.errors(), []);
  assert.equal(broker.status().totals.subscriptions, 3);
});

void test('a closing client with many subscriptions leaves the index in slices; routing skips it meanwhile', () => {
  const jobs: (() => void)[] = [];
  const broker = new Broker({ clock: new ManualClock(), schedule: (fn) => jobs.push(fn) });
  const run = (): void => {
    while (jobs.length > 0) jobs.shift()!();
  };
  const connect = (name: string): MemPeer => {
    const p = new MemPeer(broker);
    p.send(encodeHello(PROTOCOL_VERSION, { name }));
    run();
    p.reset();
    return p;
  };
  const big = connect('big');
  const other = connect('other');
  const pub = connect('pub');
  for (let i = 1; i <= 10_000; i++) big.send(encodeSub({ sid: i, subject: 'x', queue: 'g' }));
  other.send(encodeSub({ sid: 1, subject: 'x', queue: 'g' }));
  run();
  assert.equal(broker.status().totals.subscriptions, 10_001);
  big.close();
  // The first slice waits for its turn: the index still lists the leaving subscriptions, but
  // the live count does not, and the queue group delivers to its live member only.
  assert.equal(broker.status().totals.subscriptions, 1);
  pub.send(encodePub('x', new Uint8Array([1])), encodePub('x', new Uint8Array([2])));
  let turns = 0;
  while (jobs.length > 0) {
    jobs.shift()!();
    turns++;
  }
  assert.ok(turns >= 3, `removed over ${turns} turns`);
  assert.equal(other.msgs().length, 2, 'every message reached the live member');
  assert.deepEqual(broker.status().subjects, [{ subject: 'x', subscribers: 1, responders: 0 }]);
});
