// Tests the Broker over in-memory Conns: handshake, pub/sub, queue groups, request/reply, direct/broadcast, errors, encode-once fan-out, status, slow consumers and GAP.

import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { Broker, type BrokerOptions } from '../../src/broker/broker.js';
import { TxQueue } from '../../src/broker/tx-queue.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import {
  Flag,
  Op,
  PROTOCOL_VERSION,
  ReplyStatus,
  ResStatus,
} from '../../src/protocol/constants.js';
import {
  decodeError,
  decodeServerHello,
  encodeBare,
  encodeCall,
  encodeHello,
  encodeSub,
  encodeUnsub,
  frame,
  type SubFields,
} from '../../src/protocol/control-frames.js';
import { encodeReq, encodeRes, encodeSend, encodePub } from '../../src/protocol/message-frames.js';
import { ManualClock } from '../../src/protocol/clock.js';
import { MemPeer, helloPeer, tick } from '../helpers/mem-conn.js';

const enc = new TextEncoder();
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

let logs: string[] = [];

function makeBroker(options: BrokerOptions = {}): Broker {
  return new Broker({ schedule: (fn) => queueMicrotask(fn), log: (l) => logs.push(l), ...options });
}

afterEach(() => {
  const internal = logs.filter((l) => l.includes('internal error'));
  logs = [];
  assert.deepEqual(internal, [], 'the broker hit an internal (non-BusError) exception');
});

function pub(subject: string, payload: string, priority = 0): Uint8Array {
  const data = enc.encode(payload);
  return encodePub(subject, data, priority);
}

async function subscribe(peer: MemPeer, sub: SubFields): Promise<void> {
  peer.send(encodeSub(sub));
  await tick();
  assert.deepEqual(peer.errors(), [], `SUB ${JSON.stringify(sub)} refused`);
}

void test('handshake: the HELLO reply carries version, id and the limits', async () => {
  const broker = makeBroker({ maxFrame: 4096, serverVersion: '1.2.3', maxQueueMsgs: 50 });
  const a = new MemPeer(broker);
  const b = new MemPeer(broker);
  a.send(encodeHello(PROTOCOL_VERSION, { name: 'a', pid: 10 }));
  b.send(encodeHello(PROTOCOL_VERSION, { name: 'b' }));
  assert.equal(a.frames.length, 1, 'the output of a small read is written at once');
  await tick();
  assert.equal(a.frames.length, 1);
  const ha = decodeServerHello(a.frames[0]!);
  const hb = decodeServerHello(b.frames[0]!);
  assert.deepEqual(ha, {
    version: 1,
    server: 'udsbus',
    serverVersion: '1.2.3',
    id: 1,
    maxFrame: 4096,
    pingMs: 0,
    maxQueueBytes: 16777216,
    maxQueueMsgs: 50,
  });
  assert.equal(hb.id, 2);
  assert.equal(a.ended, false);
  assert.equal(broker.size, 2);
});

void test('handshake: a wrong version gets a fatal BUS_ERR_VERSION naming both versions, then end()', async () => {
  const broker = makeBroker();
  const p = new MemPeer(broker);
  p.send(encodeHello(7, { name: 'future' }));
  await tick();
  assert.equal(p.frames.length, 1);
  const e = decodeError(p.frames[0]!);
  assert.equal(e.code, ErrorCode.VERSION);
  assert.equal(e.fatal, true);
  assert.deepEqual({ ...e.detail }, { client: 7, server: PROTOCOL_VERSION });
  assert.equal(p.ended, true);
  assert.equal(p.paused, true, 'no more input is read');
  // Later input is ignored.
  p.send(encodeHello(1, {}));
  await tick();
  assert.equal(p.frames.length, 1);
});

void test('handshake: a first frame that is not HELLO gets BUS_ERR_HANDSHAKE', async () => {
  const broker = makeBroker();
  for (const first of [encodeBare(Op.PING), pub('a', 'x'), encodeSub({ sid: 1, subject: 'a' })]) {
    const p = new MemPeer(broker);
    p.send(first);
    await tick();
    const e = p.errors();
    assert.equal(e.length, 1);
    assert.equal(e[0]!.code, ErrorCode.HANDSHAKE);
    assert.equal(e[0]!.fatal, true);
    assert.equal(p.ended, true);
  }
  const badMagic = new MemPeer(broker);
  badMagic.send(frame(Uint8Array.from([Op.HELLO, 0x55, 0x44, 0x53, 0x00, 1, 0xa0])));
  await tick();
  assert.equal(badMagic.errors()[0]?.code, ErrorCode.HANDSHAKE);
});

void test('handshake: a malformed HELLO map is BUS_ERR_PROTOCOL', async () => {
  const broker = makeBroker();
  const p = new MemPeer(broker);
  p.send(encodeHello(1, { name: 42 }));
  await tick();
  assert.equal(p.errors()[0]?.code, ErrorCode.PROTOCOL);
  assert.equal(p.ended, true);
});

void test('handshake: no HELLO within the timeout gets BUS_ERR_HANDSHAKE, at the exact deadline', async () => {
  const clock = new ManualClock();
  const broker = makeBroker({ handshakeTimeoutMs: 20, clock });
  const p = new MemPeer(broker);
  p.send(Uint8Array.from([0x10])); // a length prefix, no body
  clock.advance(19);
  await tick();
  assert.deepEqual(p.errors(), [], 'not before the deadline');
  clock.advance(1);
  await tick();
  const e = p.errors();
  assert.equal(e.length, 1);
  assert.equal(e[0]!.code, ErrorCode.HANDSHAKE);
  assert.match(e[0]!.message, /no HELLO within 20 ms/);
  assert.equal(p.ended, true);
  // Counted by code in status.
  assert.deepEqual({ ...broker.status().totals.fatalErrors }, { [ErrorCode.HANDSHAKE]: 1 });
});

void test('a second HELLO is a fatal BUS_ERR_PROTOCOL', async () => {
  const broker = makeBroker();
  const p = await helloPeer(broker);
  p.send(encodeHello(1, {}));
  await tick();
  assert.equal(p.errors()[0]?.code, ErrorCode.PROTOCOL);
  assert.equal(p.ended, true);
});

void test('PING gets PONG', async () => {
  const broker = makeBroker();
  const p = await helloPeer(broker);
  p.send(encodeBare(Op.PING), encodeBare(Op.PONG));
  await tick();
  assert.deepEqual(
    p.frames.map((f) => [...f]),
    [[Op.PONG]],
  );
});

void test('pub/sub: exact and wildcard subscriptions, one MSG per matching sid', async () => {
  const broker = makeBroker();
  const s = await helloPeer(broker, 'sub');
  const p = await helloPeer(broker, 'pub');
  await subscribe(s, { sid: 1, subject: 'a.b' });
  await subscribe(s, { sid: 2, subject: 'a.*' });
  await subscribe(s, { sid: 3, subject: 'a.>' });
  await subscribe(s, { sid: 4, subject: 'x.*' });
  p.send(pub('a.b', 'one'), pub('a.b.c', 'two'), pub('a', 'none'), pub('zzz', 'none'));
  await tick();
  // Order among one message's copies is not specified; order between messages is.
  const got = s
    .msgs()
    .sort((x, y) => x.id - y.id || x.sid - y.sid)
    .map((m) => [m.sid, m.subject, text(m.data), m.from]);
  assert.deepEqual(got, [
    [1, 'a.b', 'one', p.id],
    [2, 'a.b', 'one', p.id],
    [3, 'a.b', 'one', p.id],
    [3, 'a.b.c', 'two', p.id],
  ]);
  const ids = s.msgs().map((m) => m.id);
  assert.deepEqual(new Set(ids.slice(0, 3)).size, 1, 'one message id per published message');
  assert.ok(ids[3]! > ids[0]!);
  assert.deepEqual(p.frames, [], 'the publisher gets nothing');
});

void test('pub/sub: the publisher gets its own message when subscribed; UNSUB stops delivery', async () => {
  const broker = makeBroker();
  const p = await helloPeer(broker);
  await subscribe(p, { sid: 9, subject: 'me' });
  p.send(pub('me', '1'));
  await tick();
  p.send(encodeUnsub(9), pub('me', '2'), encodeUnsub(12345));
  await tick();
  assert.deepEqual(
    p.msgs().map((m) => text(m.data)),
    ['1'],
  );
  assert.deepEqual(p.errors(), []);
});

void test('pub/sub: a whole batch for one connection goes out in one write per flush', async () => {
  const broker = makeBroker();
  const s = await helloPeer(broker);
  const p = await helloPeer(broker);
  await subscribe(s, { sid: 1, subject: 'b' });
  s.reset();
  const chunk = Buffer.concat(Array.from({ length: 10 }, (_, i) => pub('b', String(i))));
  p.send(chunk);
  await tick();
  assert.equal(s.writes.length, 1);
  assert.deepEqual(
    s.msgs().map((m) => text(m.data)),
    ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  );
});

void test('priority: higher-priority messages overtake queued lower ones', async () => {
  const broker = makeBroker();
  const s = await helloPeer(broker);
  const p = await helloPeer(broker);
  await subscribe(s, { sid: 1, subject: 'p' });
  // One read: everything it produced is queued before the write, so priorities order it.
  p.send(
    Buffer.concat([
      pub('p', 'low1', 0),
      pub('p', 'high', 200),
      pub('p', 'low2', 0),
      pub('p', 'mid', 5),
    ]),
  );
  await tick();
  assert.deepEqual(
    s.msgs().map((m) => [text(m.data), m.priority]),
    [
      ['high', 200],
      ['mid', 5],
      ['low1', 0],
      ['low2', 0],
    ],
  );
});

void test('queue group: each message reaches exactly one member, round-robin; plain subscribers get all', async () => {
  const broker = makeBroker();
  const w1 = await helloPeer(broker, 'w1');
  const w2 = await helloPeer(broker, 'w2');
  const plain = await helloPeer(broker, 'plain');
  const p = await helloPeer(broker, 'pub');
  await subscribe(w1, { sid: 1, subject: 'jobs.*', queue: 'workers' });
  await subscribe(w2, { sid: 5, subject: 'jobs.run', queue: 'workers' });
  await subscribe(plain, { sid: 1, subject: 'jobs.>' });
  for (let i = 0; i < 6; i++) p.send(pub('jobs.run', String(i)));
  await tick();
  const a = w1.msgs().map((m) => text(m.data));
  const b = w2.msgs().map((m) => text(m.data));
  assert.equal(a.length, 3);
  assert.equal(b.length, 3);
  assert.deepEqual(
    [...a, ...b].sort(),
    ['0', '1', '2', '3', '4', '5'],
    'each message to exactly one member',
  );
  const evensToA = a.every((x) => Number(x) % 2 === 0);
  const oddsToA = a.every((x) => Number(x) % 2 === 1);
  assert.ok(evensToA || oddsToA, `round-robin alternates: ${a.join()} / ${b.join()}`);
  assert.equal(plain.msgs().length, 6);
  assert.ok(w2.msgs().every((m) => m.sid === 5));
});

void test('request: one responder gets MSG with REPLY flag and token; RES comes back as REPLY with the reqId', async () => {
  const broker = makeBroker();
  const r1 = await helloPeer(broker, 'r1');
  const r2 = await helloPeer(broker, 'r2');
  const listener = await helloPeer(broker, 'listener');
  const q = await helloPeer(broker, 'requester');
  await subscribe(r1, { sid: 7, subject: 'svc.*', serve: true });
  await subscribe(r2, { sid: 8, subject: 'svc.time', serve: true });
  await subscribe(listener, { sid: 1, subject: 'svc.time' });
  q.send(
    encodeReq(1001, 5000, 'svc.time', enc.encode('now?'), 3, { type: 4, headers: { h: 'x' } }),
  );
  await tick();
  const got = [...r1.msgs(), ...r2.msgs()];
  assert.equal(got.length, 1, 'exactly one responder');
  assert.deepEqual(listener.msgs(), [], 'plain subscribers do not receive requests');
  const m = got[0]!;
  const responder = r1.msgs().length === 1 ? r1 : r2;
  assert.equal(m.sid, responder === r1 ? 7 : 8);
  assert.equal(m.flags, Flag.REPLY | Flag.TYPE | Flag.HEADERS);
  assert.equal(m.priority, 3);
  assert.equal(m.from, q.id);
  assert.equal(m.subject, 'svc.time');
  assert.ok(m.token > 0);
  assert.equal(m.type, 4);
  assert.deepEqual({ ...m.headers }, { h: 'x' });
  assert.equal(text(m.data), 'now?');
  responder.send(encodeRes(m.token, ResStatus.OK, enc.encode('12:00'), { type: 9 }));
  await tick();
  const replies = q.replies();
  assert.equal(replies.length, 1);
  assert.deepEqual(
    {
      reqId: replies[0]!.reqId,
      status: replies[0]!.status,
      from: replies[0]!.from,
      type: replies[0]!.type,
      data: text(replies[0]!.data),
    },
    { reqId: 1001, status: ReplyStatus.OK, from: responder.id, type: 9, data: '12:00' },
  );
  // A second RES for the same token is ignored.
  responder.send(encodeRes(m.token, ResStatus.OK, enc.encode('again')));
  await tick();
  assert.equal(q.replies().length, 1);
});

void test('request: requests alternate between responders; RES status ERROR becomes REPLY status 1', async () => {
  const broker = makeBroker();
  const r1 = await helloPeer(broker);
  const r2 = await helloPeer(broker);
  const q = await helloPeer(broker);
  await subscribe(r1, { sid: 1, subject: 'svc', serve: true });
  await subscribe(r2, { sid: 1, subject: 'svc', serve: true });
  for (let i = 0; i < 4; i++) q.send(encodeReq(i, 1000, 'svc', new Uint8Array(0), 0));
  await tick();
  assert.equal(r1.msgs().length, 2);
  assert.equal(r2.msgs().length, 2);
  r1.send(encodeRes(r1.msgs()[0]!.token, ResStatus.ERROR, enc.encode('boom')));
  await tick();
  const r = q.replies()[0]!;
  assert.equal(r.status, ReplyStatus.ERROR);
  assert.equal(text(r.data), 'boom');
});

void test('request: responders do not receive PUBs', async () => {
  const broker = makeBroker();
  const r = await helloPeer(broker);
  const p = await helloPeer(broker);
  await subscribe(r, { sid: 1, subject: 'svc', serve: true });
  p.send(pub('svc', 'not a request'));
  await tick();
  assert.deepEqual(r.frames, []);
});

void test('request: no responders → REPLY status 2 at once, from 0', async () => {
  const broker = makeBroker();
  const q = await helloPeer(broker);
  const s = await helloPeer(broker);
  await subscribe(s, { sid: 1, subject: 'nobody.serves' }); // a plain subscriber is not a responder
  q.send(encodeReq(55, 60_000, 'nobody.serves', enc.encode('?'), 0));
  await tick();
  const r = q.replies();
  assert.equal(r.length, 1);
  assert.deepEqual(
    { reqId: r[0]!.reqId, status: r[0]!.status, from: r[0]!.from, len: r[0]!.data.length },
    { reqId: 55, status: ReplyStatus.NO_RESPONDERS, from: 0, len: 0 },
  );
  assert.deepEqual(s.msgs(), []);
});

void test('request: the responder disconnecting with a pending request → REPLY status 3', async () => {
  const broker = makeBroker();
  const r = await helloPeer(broker);
  const q = await helloPeer(broker);
  await subscribe(r, { sid: 1, subject: 'slow.svc', serve: true });
  q.send(encodeReq(77, 60_000, 'slow.svc', new Uint8Array(0), 0));
  await tick();
  assert.equal(r.msgs().length, 1);
  r.close();
  await tick();
  const rep = q.replies();
  assert.equal(rep.length, 1);
  assert.deepEqual(
    { reqId: rep[0]!.reqId, status: rep[0]!.status, from: rep[0]!.from },
    { reqId: 77, status: ReplyStatus.RESPONDER_GONE, from: r.id },
  );
  // And the responder is gone from the pool.
  q.send(encodeReq(78, 60_000, 'slow.svc', new Uint8Array(0), 0));
  await tick();
  assert.equal(q.replies()[1]?.status, ReplyStatus.NO_RESPONDERS);
});

void test('direct send to a client id', async () => {
  const broker = makeBroker();
  const a = await helloPeer(broker);
  const b = await helloPeer(broker);
  const c = await helloPeer(broker);
  a.send(encodeSend(b.id, enc.encode('hey'), 4, { type: 2 }));
  await tick();
  const m = b.msgs();
  assert.equal(m.length, 1);
  assert.deepEqual(
    {
      sid: m[0]!.sid,
      subject: m[0]!.subject,
      from: m[0]!.from,
      flags: m[0]!.flags,
      priority: m[0]!.priority,
      type: m[0]!.type,
      data: text(m[0]!.data),
    },
    { sid: 0, subject: '', from: a.id, flags: Flag.TYPE, priority: 4, type: 2, data: 'hey' },
  );
  assert.deepEqual(c.frames, []);
  assert.deepEqual(a.frames, []);
});

void test('send to an unknown id → non-fatal BUS_ERR_NO_SUCH_CLIENT, the connection goes on', async () => {
  const broker = makeBroker();
  const a = await helloPeer(broker);
  a.send(encodeSend(4242, enc.encode('?'), 0));
  await tick();
  const e = a.errors();
  assert.equal(e.length, 1);
  assert.equal(e[0]!.code, ErrorCode.NO_SUCH_CLIENT);
  assert.equal(e[0]!.fatal, false);
  assert.equal(a.ended, false);
  a.send(encodeBare(Op.PING));
  await tick();
  assert.equal(a.ofOp(Op.PONG).length, 1);
});

void test('broadcast (to 0) reaches every other client, not the sender nor unhandshaken ones', async () => {
  const broker = makeBroker();
  const a = await helloPeer(broker);
  const b = await helloPeer(broker);
  const c = await helloPeer(broker);
  const raw = new MemPeer(broker); // no HELLO yet
  a.send(encodeSend(0, enc.encode('all'), 0));
  await tick();
  for (const peer of [b, c]) {
    const m = peer.msgs();
    assert.equal(m.length, 1);
    assert.equal(m[0]!.flags & Flag.BROADCAST, Flag.BROADCAST);
    assert.equal(m[0]!.sid, 0);
    assert.equal(m[0]!.from, a.id);
    assert.equal(text(m[0]!.data), 'all');
  }
  assert.equal(b.msgs()[0]!.id, c.msgs()[0]!.id);
  assert.deepEqual(a.frames, []);
  assert.deepEqual(raw.frames, []);
});

void test('garbage bytes → fatal BUS_ERR_PROTOCOL and end(), while another session keeps working', async () => {
  const broker = makeBroker();
  const bad = await helloPeer(broker, 'bad');
  const good = await helloPeer(broker, 'good');
  const other = await helloPeer(broker, 'other');
  await subscribe(good, { sid: 1, subject: 'still.works' });
  bad.send(Uint8Array.from([0x05, 0xff, 0xfe, 0xfd, 0xfc, 0xfb]));
  await tick();
  const e = bad.errors();
  assert.equal(e.length, 1);
  assert.equal(e[0]!.code, ErrorCode.PROTOCOL);
  assert.equal(e[0]!.fatal, true);
  assert.match(e[0]!.message, /unknown op 0xff/);
  assert.equal(bad.ended, true);
  bad.send(encodeBare(Op.PING));
  bad.close();
  other.send(pub('still.works', 'yes'));
  await tick();
  assert.deepEqual(
    good.msgs().map((m) => text(m.data)),
    ['yes'],
  );
  assert.equal(bad.ofOp(Op.PONG).length, 0, 'input after the failure is ignored');
  assert.equal(broker.size, 2);
});

void test('malformed frames of every kind are fatal BUS_ERR_PROTOCOL (or FRAME_TOO_LARGE)', async () => {
  const broker = makeBroker({ maxFrame: 256 });
  const cases: [string, Uint8Array, string][] = [
    ['empty frame', Uint8Array.from([0]), ErrorCode.PROTOCOL],
    ['too large', Uint8Array.from([0x81, 0x02]), ErrorCode.FRAME_TOO_LARGE],
    ['MSG from a client', frame(Uint8Array.from([Op.MSG, 1])), ErrorCode.PROTOCOL],
    [
      'PUB subject past the end',
      frame(Uint8Array.from([Op.PUB, 0, 0, 9, 0x61])),
      ErrorCode.PROTOCOL,
    ],
    [
      'PUB with the REPLY flag',
      frame(Uint8Array.from([Op.PUB, Flag.REPLY, 0, 1, 0x61])),
      ErrorCode.PROTOCOL,
    ],
    [
      'PUB type truncated',
      frame(Uint8Array.from([Op.PUB, Flag.TYPE, 0, 1, 0x61, 1])),
      ErrorCode.PROTOCOL,
    ],
    ['REQ truncated', frame(Uint8Array.from([Op.REQ, 0, 0, 1])), ErrorCode.PROTOCOL],
    ['RES truncated', frame(Uint8Array.from([Op.RES, 0, 0])), ErrorCode.PROTOCOL],
    ['RES bad status', encodeRes(1, 9, new Uint8Array(0)), ErrorCode.PROTOCOL],
    ['SEND truncated', frame(Uint8Array.from([Op.SEND, 0, 0, 1])), ErrorCode.PROTOCOL],
    [
      'SEND header block past the end',
      frame(Uint8Array.from([Op.SEND, Flag.HEADERS, 0, 1, 0, 0, 0, 1, 5])),
      ErrorCode.PROTOCOL,
    ],
    ['SUB with a tag', frame(Uint8Array.from([Op.SUB, 0xd8, 0x1c, 0xa0])), ErrorCode.PROTOCOL],
    [
      'SUB sid 0',
      frame(
        Uint8Array.from([
          Op.SUB,
          0xa2,
          0x63,
          0x73,
          0x69,
          0x64,
          0x00,
          0x67,
          ...enc.encode('subject'),
          0x61,
          0x61,
        ]),
      ),
      ErrorCode.PROTOCOL,
    ],
    ['UNSUB not a map', frame(Uint8Array.from([Op.UNSUB, 0x01])), ErrorCode.PROTOCOL],
    ['CALL indefinite', frame(Uint8Array.from([Op.CALL, 0xbf, 0xff])), ErrorCode.PROTOCOL],
  ];
  for (const [what, bytes, code] of cases) {
    const p = await helloPeer(broker, what);
    p.send(bytes);
    await tick();
    const e = p.errors();
    assert.equal(e.length, 1, what);
    assert.equal(e[0]!.code, code, what);
    assert.equal(e[0]!.fatal, true, what);
    assert.equal(p.ended, true, what);
    p.close();
  }
});

void test('regression: a PUB body shorter than its fixed header is a fatal BUS_ERR_PROTOCOL', async () => {
  const broker = makeBroker();
  const p = await helloPeer(broker);
  p.send(frame(Uint8Array.from([Op.PUB])));
  await tick();
  assert.equal(p.errors()[0]?.code, ErrorCode.PROTOCOL);
  assert.equal(p.ended, true);
});

void test('SUB errors: bad pattern and bad queue name are non-fatal BAD_SUBJECT with the sid; a reused sid is fatal', async () => {
  const broker = makeBroker();
  const p = await helloPeer(broker);
  p.send(
    encodeSub({ sid: 3, subject: 'a..b' }),
    encodeSub({ sid: 4, subject: 'a', queue: 'q*' }),
    pub('a.*', 'x'),
  );
  await tick();
  const e = p.errors();
  assert.deepEqual(
    e.map((x) => [x.code, x.fatal, x.detail?.['sid']]),
    [
      [ErrorCode.BAD_SUBJECT, false, 3],
      [ErrorCode.BAD_SUBJECT, false, 4],
      [ErrorCode.BAD_SUBJECT, false, undefined],
    ],
  );
  assert.equal(p.ended, false);
  p.send(encodeSub({ sid: 1, subject: 'ok' }), encodeSub({ sid: 1, subject: 'ok2' }));
  await tick();
  assert.equal(p.errors()[3]?.code, ErrorCode.PROTOCOL);
  assert.equal(p.ended, true);
});

void test('subscription limit → non-fatal BUS_ERR_LIMIT', async () => {
  const broker = makeBroker({ maxSubscriptions: 2 });
  const p = await helloPeer(broker);
  p.send(
    encodeSub({ sid: 1, subject: 'a' }),
    encodeSub({ sid: 2, subject: 'b' }),
    encodeSub({ sid: 3, subject: 'c' }),
  );
  await tick();
  const e = p.errors();
  assert.equal(e.length, 1);
  assert.deepEqual([e[0]!.code, e[0]!.fatal, e[0]!.detail?.['sid']], [ErrorCode.LIMIT, false, 3]);
});

void test('a published message is encoded once: the same envelope object is queued for every subscriber', async (t) => {
  const broker = makeBroker();
  const subs = await Promise.all([1, 2, 3, 4, 5].map((i) => helloPeer(broker, `s${i}`)));
  const p = await helloPeer(broker, 'pub');
  for (const [i, s] of subs.entries())
    await subscribe(s, {
      sid: 10 + i,
      subject: i % 2 === 0 ? 'fan.out' : 'fan.*',
      onSlow: 'drop-oldest',
    });
  // Saturate every subscriber's socket: drop-oldest messages then wait in the TX queue (where
  // they stay droppable) instead of the write batch.
  for (const s of subs) s.writeResult = false;
  p.send(pub('fan.out', 'warm-up'));
  await tick();
  const queued: { sid: number; buf: Uint8Array }[] = [];
  type Push = (this: TxQueue, priority: number, sid: number, buf: Uint8Array, id: number) => void;
  const original = Object.getOwnPropertyDescriptor(TxQueue.prototype, 'push')!.value as Push;
  t.mock.method(
    TxQueue.prototype,
    'push',
    function (this: TxQueue, priority: number, sid: number, buf: Uint8Array, id: number) {
      if (sid > 0) queued.push({ sid, buf });
      original.call(this, priority, sid, buf, id);
    },
  );
  p.send(pub('fan.out', 'payload'));
  t.mock.restoreAll();
  await tick();
  assert.equal(queued.length, 5, 'one queue entry per subscriber');
  assert.deepEqual(queued.map((q) => q.sid).sort(), [10, 11, 12, 13, 14]);
  for (const q of queued)
    assert.equal(q.buf, queued[0]!.buf, 'the very same Uint8Array for everybody');
  for (const [i, s] of subs.entries()) {
    s.writeResult = true;
    s.events.drain();
    const m = s.msgs();
    assert.equal(m.length, 2);
    assert.equal(m[1]!.sid, 10 + i);
    assert.equal(text(m[0]!.data), 'warm-up');
    assert.equal(text(m[1]!.data), 'payload');
  }
});

void test('status call returns clients, subjects and totals; unknown ops get UNKNOWN_OP', async () => {
  const broker = makeBroker({ serverVersion: '4.5.6' });
  const a = await helloPeer(broker, 'alpha');
  const b = await helloPeer(broker, 'beta');
  await subscribe(a, { sid: 1, subject: 'x.*' });
  await subscribe(b, { sid: 1, subject: 'x.*' });
  await subscribe(b, { sid: 2, subject: 'svc', serve: true });
  b.send(pub('x.y', 'm'));
  await tick();
  a.reset();
  a.send(encodeCall(5, 'status'), encodeCall(6, 'nope'), encodeCall(7, 'echo', { k: 'v' }));
  await tick();
  const replies = a.callReplies();
  assert.equal(replies.length, 3);
  const st = replies[0]! as { cid: number; ok: boolean; result: Record<string, unknown> };
  assert.equal(st.cid, 5);
  assert.equal(st.ok, true);
  const r = st.result as {
    server: string;
    version: string;
    protocol: number;
    clients: { id: number; name: string; subscriptions: number }[];
    subjects: { subject: string; subscribers: number; responders: number }[];
    totals: { msgsIn: number; msgsDelivered: number; dropped: number; pendingRequests: number };
  };
  assert.equal(r.server, 'udsbus');
  assert.equal(r.version, '4.5.6');
  assert.equal(r.protocol, 1);
  assert.deepEqual(
    r.clients.map((c) => [c.id, c.name, c.subscriptions]),
    [
      [a.id, 'alpha', 1],
      [b.id, 'beta', 2],
    ],
  );
  assert.deepEqual(
    r.subjects.map((s) => ({ ...s })),
    [
      { subject: 'svc', subscribers: 0, responders: 1 },
      { subject: 'x.*', subscribers: 2, responders: 0 },
    ],
  );
  assert.deepEqual(
    { ...r.totals },
    {
      msgsIn: 1,
      msgsDelivered: 2,
      dropped: 0,
      pendingRequests: 0,
      lateReplies: 0,
      acceptErrors: 0,
      subscriptions: 3,
      subscriptionsRefused: 0,
      fatalErrors: {},
      stateKeys: 0,
      stateBytes: 0,
      stateRevision: 0,
      names: 0,
      denied: 0,
      deniedByVerb: {},
      timers: 0,
      sources: 0,
    },
  );
  assert.deepEqual(
    [replies[1]!.cid, replies[1]!.ok, replies[1]!.code],
    [6, false, ErrorCode.UNKNOWN_OP],
  );
  assert.deepEqual(
    [replies[2]!.cid, replies[2]!.ok, { ...(replies[2]!.result as object) }],
    [7, true, { k: 'v' }],
  );
});

void test('slow consumer, drop-newest: the first messages arrive, then one GAP with the exact count and id range', async () => {
  const broker = makeBroker({ maxQueueMsgs: 2 });
  const s = await helloPeer(broker);
  const p = await helloPeer(broker);
  await subscribe(s, { sid: 4, subject: 'fast', onSlow: 'drop-newest' });
  p.send(Buffer.concat([1, 2, 3, 4, 5].map((i) => pub('fast', String(i)))));
  await tick();
  const m = s.msgs();
  assert.deepEqual(
    m.map((x) => text(x.data)),
    ['1', '2'],
  );
  const gaps = s.gaps();
  assert.equal(gaps.length, 1);
  const firstLost = m[1]!.id + 1;
  assert.deepEqual(gaps[0], { sid: 4, lost: 3, firstId: firstLost, lastId: firstLost + 2 });
  assert.equal(s.frames[s.frames.length - 1]![0], Op.GAP, 'the GAP follows the delivered messages');
  // The count resets: the next message arrives without another GAP.
  p.send(pub('fast', '6'));
  await tick();
  assert.equal(s.gaps().length, 1);
  assert.equal(s.msgs().length, 3);
});

void test('slow consumer, drop-oldest: the newest messages arrive, the GAP names the oldest ones', async () => {
  const broker = makeBroker({ maxQueueMsgs: 2 });
  const s = await helloPeer(broker);
  const p = await helloPeer(broker);
  await subscribe(s, { sid: 1, subject: 'fast', onSlow: 'drop-oldest' });
  // A saturated socket: what was already handed to it is written, the rest waits in the queue.
  s.writeResult = false;
  p.send(pub('fast', '0'));
  await tick();
  p.send(Buffer.concat([1, 2, 3, 4, 5].map((i) => pub('fast', String(i)))));
  await tick();
  s.writeResult = true;
  s.events.drain();
  const m = s.msgs();
  assert.deepEqual(
    m.map((x) => text(x.data)),
    ['0', '4', '5'],
  );
  const first = m[1]!.id - 3;
  assert.deepEqual(s.gaps(), [{ sid: 1, lost: 3, firstId: first, lastId: first + 2 }]);
});

void test('slow consumer, disconnect: after the grace period a fatal BUS_ERR_SLOW_CONSUMER, written once the socket drains', async () => {
  const broker = makeBroker({ maxQueueMsgs: 1, slowGraceMs: 0 });
  const s = await helloPeer(broker);
  const p = await helloPeer(broker);
  await subscribe(s, { sid: 1, subject: 'fast' });
  s.writeResult = false; // the socket is saturated from the next write on
  p.send(pub('fast', '1'));
  await tick();
  assert.equal(s.msgs().length, 1);
  p.send(pub('fast', '2'), pub('fast', '3'));
  await tick();
  assert.equal(s.errors().length, 0, 'nothing is written while the socket is saturated');
  s.writeResult = true;
  s.events.drain();
  const e = s.errors();
  assert.equal(e.length, 1);
  assert.equal(e[0]!.code, ErrorCode.SLOW_CONSUMER);
  assert.equal(e[0]!.fatal, true);
  assert.equal(s.ended, true);
  assert.equal(s.msgs().length, 1, 'queued messages were discarded');
});

void test('reliable delivery: a SEND over the target bound pauses the producer until the target drains', async () => {
  const broker = makeBroker({ maxQueueMsgs: 2 });
  const target = await helloPeer(broker);
  const producer = await helloPeer(broker);
  target.writeResult = false;
  producer.send(encodeSend(target.id, enc.encode('0'), 0));
  await tick(); // first write: saturates
  producer.send(...[1, 2, 3].map((i) => encodeSend(target.id, enc.encode(String(i)), 0)));
  await tick();
  assert.equal(producer.paused, true, 'the producer is paused, nothing was dropped');
  target.writeResult = true;
  target.events.drain();
  assert.equal(producer.paused, false);
  assert.deepEqual(
    target.msgs().map((m) => text(m.data)),
    ['0', '1', '2', '3'],
  );
});

/** `n` PUB frames on `subject` with `size`-byte payloads, as one chunk. */
function pubs(subject: string, n: number, size: number): Uint8Array {
  return Buffer.concat(Array.from({ length: n }, () => pub(subject, 'x'.repeat(size))));
}

/**
 * A subscriber `s` on subject `w` whose socket is saturated by the first message (nothing more is
 * written until `s.events.drain()`), and a producer `p`.
 */
async function saturated(
  options: BrokerOptions,
  onSlow?: SubFields['onSlow'],
): Promise<{ broker: Broker; s: MemPeer; p: MemPeer }> {
  const broker = makeBroker(options);
  const s = await helloPeer(broker);
  const p = await helloPeer(broker);
  await subscribe(s, { sid: 1, subject: 'w', ...(onSlow ? { onSlow } : {}) });
  s.writeResult = false;
  p.send(pub('w', 'first'));
  await tick();
  return { broker, s, p };
}

void test('flow window: a `disconnect` subscriber over the window pauses its producer until it drains to half', async () => {
  const { broker, s, p } = await saturated({ flowWindowBytes: 4096, flowWaitMs: 10_000 });
  p.send(pubs('w', 20, 100)); // about 2.6 KiB: under the window
  await tick();
  assert.equal(p.paused, false, 'under the window nothing is paused');
  p.send(pubs('w', 20, 100)); // now over 4 KiB pending
  assert.equal(p.paused, true, 'over the window the producer is paused');
  assert.equal(s.msgs().length, 1, 'nothing more was written to the saturated socket');
  s.writeResult = true;
  s.events.drain();
  assert.equal(p.paused, false, 'drained: the producer is read again');
  assert.equal(s.msgs().length, 41, 'every message arrived');
  assert.deepEqual(s.gaps(), []);
  void broker.shutdown(0);
});

void test('flow window: a client that does not drain within flowWaitMs releases its producers and stops pacing', async () => {
  const clock = new ManualClock();
  const { broker, s, p } = await saturated({
    flowWindowBytes: 2048,
    flowWaitMs: 30,
    maxQueueBytes: 1 << 20,
    clock,
  });
  p.send(pubs('w', 30, 100));
  assert.equal(p.paused, true);
  clock.advance(29);
  assert.equal(p.paused, true, 'still paced 1 ms before flowWaitMs');
  clock.advance(1);
  assert.equal(p.paused, false, 'the stuck consumer let its producer go at flowWaitMs');
  // No more pacing until the consumer drains: the backlog grows (within maxQueueBytes).
  p.send(pubs('w', 100, 100));
  await tick();
  assert.equal(p.paused, false, 'the stuck consumer paces nobody');
  s.writeResult = true;
  s.events.drain();
  assert.equal(s.msgs().length, 131, 'nothing was lost');
  // Drained: pacing is back on.
  s.writeResult = false;
  p.send(pub('w', 'again'));
  await tick();
  p.send(pubs('w', 30, 100));
  assert.equal(p.paused, true, 'pacing resumes once the consumer drained');
  void broker.shutdown(0);
});

void test('flow window: drop-policy subscribers never pace their producers', async () => {
  const { broker, p } = await saturated(
    { flowWindowBytes: 1024, flowWaitMs: 10_000 },
    'drop-newest',
  );
  p.send(pubs('w', 50, 100));
  await tick();
  assert.equal(p.paused, false);
  void broker.shutdown(0);
});

void test('flow window: 0 turns pacing off (the queue bound still applies)', async () => {
  const { broker, p } = await saturated({ flowWindowBytes: 0 });
  p.send(pubs('w', 50, 100));
  await tick();
  assert.equal(p.paused, false);
  void broker.shutdown(0);
});

void test('flushing: the output of a small read is written at once, that of a large read at the end of the turn', async () => {
  const broker = makeBroker();
  const s = await helloPeer(broker);
  const p = await helloPeer(broker);
  await subscribe(s, { sid: 1, subject: 'f' });
  p.send(pub('f', 'small'));
  assert.equal(s.msgs().length, 1, 'written during the read that produced it');
  p.send(pubs('f', 60, 100)); // one read of about 7 KiB
  assert.equal(s.msgs().length, 1, 'a large read is batched');
  await tick();
  assert.equal(s.msgs().length, 61, 'and written once the turn ends');
  void broker.shutdown(0);
});
