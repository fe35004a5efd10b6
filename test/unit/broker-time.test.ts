// Tests the broker's time-driven and refusal behaviour over in-memory Conns with a ManualClock
// (no sleeping): request deadlines and late RES, keepalive and idle timeout, REQ/PUB refusals
// that name what they answer, and the order of output after a fatal ERROR.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Broker, type BrokerOptions } from '../../src/broker/broker.js';
import { ManualClock } from '../../src/protocol/clock.js';
import { Op, ReplyStatus, ResStatus } from '../../src/protocol/constants.js';
import {
  decodeCallReply,
  encodeBare,
  encodeCall,
  encodeSub,
} from '../../src/protocol/control-frames.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { encodePub, encodeReq, encodeRes } from '../../src/protocol/message-frames.js';
import type { BrokerStatus } from '../../src/protocol/status.js';
import { MemPeer, helloPeer, tick } from '../helpers/mem-conn.js';

const enc = new TextEncoder();
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

function makeBroker(clock: ManualClock, options: BrokerOptions = {}): Broker {
  return new Broker({ clock, schedule: (fn) => queueMicrotask(fn), ...options });
}

async function status(peer: MemPeer): Promise<BrokerStatus> {
  peer.reset();
  peer.send(encodeCall(77, 'status'));
  await tick();
  const r = decodeCallReply(peer.ofOp(Op.CALL_REPLY)[0]!);
  peer.reset();
  return r.result as BrokerStatus;
}

void test('request: at its exact deadline the requester gets REPLY status TIMEOUT; a later RES is dropped and counted', async () => {
  const clock = new ManualClock();
  const broker = makeBroker(clock);
  const responder = await helloPeer(broker, 'responder');
  const requester = await helloPeer(broker, 'requester');
  responder.send(encodeSub({ sid: 1, subject: 'svc', serve: true }));
  requester.send(encodeReq(42, 250, 'svc', enc.encode('hi')));
  await tick();
  const [m] = responder.msgs();
  assert.ok(m !== undefined && m.token > 0, 'the responder got the request');
  clock.advance(249);
  await tick();
  assert.deepEqual(requester.replies(), [], 'nothing before the deadline');
  clock.advance(1);
  await tick();
  const [r] = requester.replies();
  assert.deepEqual(
    { reqId: r?.reqId, status: r?.status, from: r?.from },
    { reqId: 42, status: ReplyStatus.TIMEOUT, from: responder.id },
  );
  assert.match(text(r!.data), /no answer within 250 ms/);
  requester.reset();
  // The responder answers late: nothing reaches the requester.
  responder.send(encodeRes(m.token, ResStatus.OK, enc.encode('too late')));
  await tick();
  assert.deepEqual(requester.frames, [], 'the late RES is not forwarded');
  assert.deepEqual(responder.errors(), [], 'a late RES is not an error');
  const st = await status(requester);
  assert.equal(st.totals.pendingRequests, 0);
  assert.equal(st.totals.lateReplies, 1);
  void broker.shutdown(0);
});

void test('request: a RES in time cancels the deadline; no TIMEOUT follows', async () => {
  const clock = new ManualClock();
  const broker = makeBroker(clock);
  const responder = await helloPeer(broker);
  const requester = await helloPeer(broker);
  responder.send(encodeSub({ sid: 1, subject: 'svc', serve: true }));
  requester.send(encodeReq(7, 100, 'svc', enc.encode('q')));
  await tick();
  const token = responder.msgs()[0]!.token;
  clock.advance(99);
  responder.send(encodeRes(token, ResStatus.OK, enc.encode('a')));
  await tick();
  clock.advance(10_000);
  await tick();
  assert.deepEqual(
    requester.replies().map((r) => [r.reqId, r.status, text(r.data)]),
    [[7, ReplyStatus.OK, 'a']],
  );
  assert.equal((await status(requester)).totals.lateReplies, 0);
  void broker.shutdown(0);
});

void test('request: timeoutMs 0 keeps the request open for one hour', async () => {
  const clock = new ManualClock();
  const broker = makeBroker(clock);
  const responder = await helloPeer(broker);
  const requester = await helloPeer(broker);
  responder.send(encodeSub({ sid: 1, subject: 'svc', serve: true }));
  requester.send(encodeReq(1, 0, 'svc', new Uint8Array(0)));
  await tick();
  clock.advance(3_600_000 - 1);
  await tick();
  assert.deepEqual(requester.replies(), []);
  clock.advance(1);
  await tick();
  assert.deepEqual(
    requester.replies().map((r) => r.status),
    [ReplyStatus.TIMEOUT],
  );
  void broker.shutdown(0);
});

void test('request: a bad subject gets REPLY status BAD_SUBJECT at once (not an ERROR), naming the problem', async () => {
  const clock = new ManualClock();
  const broker = makeBroker(clock);
  const requester = await helloPeer(broker);
  for (const subject of ['a..b', 'a.*', 'x y']) {
    requester.reset();
    requester.send(encodeReq(9, 5000, subject, new Uint8Array(0)));
    await tick();
    const [r] = requester.replies();
    assert.deepEqual(
      { reqId: r?.reqId, status: r?.status, from: r?.from },
      { reqId: 9, status: ReplyStatus.BAD_SUBJECT, from: 0 },
      subject,
    );
    assert.ok(r!.data.length > 0, 'the payload says why');
    assert.deepEqual(requester.errors(), []);
  }
  void broker.shutdown(0);
});

void test('PUB with a bad subject: the non-fatal ERROR names the op and the subject', async () => {
  const clock = new ManualClock();
  const broker = makeBroker(clock);
  const p = await helloPeer(broker);
  p.send(encodePub('a..b', new Uint8Array(0)));
  await tick();
  const [e] = p.errors();
  assert.equal(e?.code, ErrorCode.BAD_SUBJECT);
  assert.equal(e.fatal, false);
  assert.deepEqual({ ...e.detail }, { op: 'PUB', subject: 'a..b' });
  void broker.shutdown(0);
});

void test('PUB on $SYS: refused with BUS_ERR_PERMISSION (non-fatal), nothing reaches $SYS subscribers', async () => {
  const clock = new ManualClock();
  const broker = makeBroker(clock);
  const watcher = await helloPeer(broker, 'watcher');
  watcher.send(encodeSub({ sid: 1, subject: '$SYS.>' }));
  const forger = await helloPeer(broker, 'forger');
  await tick();
  const before = watcher.ofOp(Op.MSG).length; // the forger's own $SYS.connect
  for (const subject of ['$SYS.connect', '$SYS']) forger.send(encodePub(subject, enc.encode('{}')));
  forger.send(encodePub('$SYSTEM.ok', enc.encode('x'))); // not a $SYS subject
  await tick();
  const errs = forger.errors();
  assert.deepEqual(
    errs.map((e) => [e.code, e.fatal, e.detail?.['subject']]),
    [
      [ErrorCode.PERMISSION, false, '$SYS.connect'],
      [ErrorCode.PERMISSION, false, '$SYS'],
    ],
  );
  assert.equal(watcher.ofOp(Op.MSG).length, before);
  void broker.shutdown(0);
});

void test('keepalive: a PING every pingMs; a peer that leaves maxPingsOut unanswered is disconnected, one that answers stays', async () => {
  const clock = new ManualClock();
  const broker = makeBroker(clock, { pingMs: 1000, maxPingsOut: 2 });
  const silent = await helloPeer(broker, 'silent');
  const alive = await helloPeer(broker, 'alive');
  for (let i = 1; i <= 2; i++) {
    clock.advance(999);
    await tick();
    assert.equal(silent.ofOp(Op.PING).length, i - 1, 'not before pingMs');
    clock.advance(1);
    await tick();
    assert.equal(silent.ofOp(Op.PING).length, i);
    assert.equal(alive.ofOp(Op.PING).length, i);
    alive.send(encodeBare(Op.PONG));
  }
  assert.equal(silent.ended, false);
  clock.advance(1000);
  await tick();
  const [e] = silent.errors();
  assert.equal(e?.code, ErrorCode.DISCONNECTED);
  assert.equal(e.fatal, true);
  assert.match(e.message, /2 keepalive pings unanswered/);
  assert.equal(silent.ended, true);
  assert.equal(alive.ended, false);
  assert.deepEqual(alive.errors(), []);
  void broker.shutdown(0);
});

void test('idle timeout: a client that sends nothing for idleTimeoutMs is disconnected', async () => {
  const clock = new ManualClock();
  const broker = makeBroker(clock, { idleTimeoutMs: 5000 });
  const p = await helloPeer(broker);
  clock.advance(4000);
  await tick();
  assert.equal(p.ended, false);
  clock.advance(1000);
  await tick();
  assert.equal(p.errors()[0]?.code, ErrorCode.DISCONNECTED);
  assert.equal(p.ended, true);
  void broker.shutdown(0);
});

void test('fatal ERROR: queued output is flushed in order (ERROR, the queued messages, then the GAP), then the connection is ended', async () => {
  const clock = new ManualClock();
  const broker = makeBroker(clock, { maxQueueMsgs: 4 });
  const s = await helloPeer(broker, 'sub');
  const p = await helloPeer(broker, 'pub');
  s.send(encodeSub({ sid: 1, subject: 'x', onSlow: 'drop-newest' }));
  await tick();
  s.writeResult = false; // saturated from the next write on
  for (let i = 0; i < 10; i++) p.send(encodePub('x', enc.encode(String(i))));
  await tick();
  s.send(Uint8Array.from([0x02, 0xee, 0x00])); // unknown op: fatal
  await tick();
  assert.equal(s.ended, false, 'not ended while output is still queued');
  s.writeResult = true;
  s.events.drain();
  const ops = s.frames.map((f) => f[0]);
  const errAt = ops.indexOf(Op.ERROR);
  const gapAt = ops.indexOf(Op.GAP);
  assert.ok(errAt >= 0 && gapAt > errAt, `ERROR before GAP: ${ops.join(',')}`);
  assert.equal(gapAt, ops.length - 1, 'the GAP is the last frame');
  assert.equal(s.errors()[0]?.fatal, true);
  const got = s.msgs().length;
  assert.equal(got + s.gaps()[0]!.lost, 10, 'received + reported lost = published');
  assert.equal(s.ended, true, 'ended once everything was written');
  void broker.shutdown(0);
});

void test('idle timeout alone: a client silent for half of it gets a PING, and its PONG keeps it connected', async () => {
  const clock = new ManualClock();
  const broker = makeBroker(clock, { idleTimeoutMs: 4000 });
  const p = await helloPeer(broker, 'quiet subscriber');
  const silent = await helloPeer(broker, 'dead');
  let pings = 0;
  for (let t = 0; t < 20_000; t += 500) {
    clock.advance(500);
    await tick();
    const n = p.ofOp(Op.PING).length;
    if (n > 0) {
      pings += n;
      p.reset();
      p.send(encodeBare(Op.PONG));
    }
  }
  assert.equal(p.ended, false, 'a client that answers PINGs is never idle');
  assert.ok(pings >= 8, `PINGed every half idle timeout (${pings})`);
  assert.equal(silent.ofOp(Op.PING).length, 1, 'one PING at half the timeout');
  assert.equal(silent.errors()[0]?.code, ErrorCode.DISCONNECTED);
  assert.match(silent.errors()[0]!.message, /idle for 4000 ms/);
  void broker.shutdown(0);
});
