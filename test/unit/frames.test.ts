// Tests every frame encoder/decoder pair of protocol v1 (HELLO, SUB, UNSUB, CALL, CALL_REPLY, ERROR, GAP, REQ, RES, SEND, REPLY, MSG) and their refusals.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeCbor } from '../../src/protocol/cbor.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { readAscii, readU32, readU64, writeU64 } from '../../src/protocol/bytes.js';
import {
  Flag,
  HELLO_MAGIC,
  Op,
  PROTOCOL_VERSION,
  ReplyStatus,
  ResStatus,
} from '../../src/protocol/constants.js';
import {
  decodeCall,
  decodeCallReply,
  decodeClientHello,
  decodeError,
  decodeServerHello,
  decodeSub,
  decodeUnsub,
  encodeBare,
  encodeCall,
  encodeCallReply,
  encodeError,
  encodeHello,
  encodeSub,
  encodeUnsub,
  frame,
  type SubFields,
} from '../../src/protocol/control-frames.js';
import {
  decodeGap,
  decodeMsg,
  decodeMsgAt,
  decodeReply,
  encodeGap,
  encodeReply,
  daemonSender,
} from '../../src/protocol/delivery-frames.js';
import {
  checkTail,
  decodeHeaders,
  encodeHeaders,
  encodeExtras,
  skipHeaders,
} from '../../src/protocol/extras.js';
import {
  encodeReq,
  encodeRes,
  encodeSend,
  pubFrameSize,
  writePub,
} from '../../src/protocol/message-frames.js';
import { isBusError } from '../helpers/mem-conn.js';

/** The body of a whole frame, through the real FrameDecoder (also checks the length prefix). */
function body(f: Uint8Array): Uint8Array {
  const out: Uint8Array[] = [];
  new FrameDecoder(1 << 24).push(f, (b) => out.push(b.slice()));
  assert.equal(out.length, 1);
  return out[0]!;
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const protocolErr = (e: unknown): boolean => isBusError(e, ErrorCode.PROTOCOL);

void test('HELLO client → daemon round trip, magic and version bytes', () => {
  const f = encodeHello(PROTOCOL_VERSION, { name: 'svc', pid: 123, pingMs: 5000 });
  const b = body(f);
  assert.deepEqual([...b.subarray(0, 6)], [Op.HELLO, ...HELLO_MAGIC, 1]);
  assert.deepEqual(decodeClientHello(b), { version: 1, name: 'svc', pid: 123, pingMs: 5000 });
  assert.deepEqual(decodeClientHello(body(encodeHello(1, {}))), {
    version: 1,
    name: '',
    pid: undefined,
    pingMs: undefined,
  });
});

void test('HELLO daemon → client round trip', () => {
  const map = {
    server: 'udsbus',
    version: '9.9.9',
    id: 77,
    maxFrame: 65536,
    pingMs: 1000,
    extra: 'ignored',
  };
  assert.deepEqual(decodeServerHello(body(encodeHello(1, map))), {
    version: 1,
    server: 'udsbus',
    serverVersion: '9.9.9',
    id: 77,
    maxFrame: 65536,
    pingMs: 1000,
    maxQueueBytes: undefined,
    maxQueueMsgs: undefined,
  });
});

void test('HELLO refusals: not HELLO, bad magic → HANDSHAKE; bad schema → PROTOCOL', () => {
  const hs = (e: unknown): boolean => isBusError(e, ErrorCode.HANDSHAKE);
  assert.throws(() => decodeClientHello(Uint8Array.from([Op.PING])), hs);
  assert.throws(
    () => decodeClientHello(Uint8Array.from([Op.SUB, 0x55, 0x44, 0x53, 0x42, 1, 0xa0])),
    hs,
  );
  assert.throws(
    () => decodeClientHello(Uint8Array.from([Op.HELLO, 0x55, 0x44, 0x53, 0x43, 1, 0xa0])),
    hs,
  );
  assert.throws(() => decodeClientHello(body(encodeHello(1, { name: 5 }))), protocolErr);
  assert.throws(
    () => decodeClientHello(body(encodeHello(1, { name: 'x'.repeat(129) }))),
    protocolErr,
  );
  assert.throws(() => decodeClientHello(body(encodeHello(1, { pid: -1 }))), protocolErr);
  assert.throws(
    () => decodeServerHello(body(encodeHello(1, { server: 'udsbus', version: '1', id: 1 }))),
    protocolErr,
  );
  const notMap = new Uint8Array([Op.HELLO, ...HELLO_MAGIC, 1, ...encodeCbor([1, 2])]);
  assert.throws(() => decodeClientHello(notMap), protocolErr);
});

void test('SUB round trip with queue, serve, every onSlow policy, current (a watch) and monitor', () => {
  const cases: SubFields[] = [
    { sid: 1, subject: 'a.b' },
    { sid: 2, subject: 'a.*', queue: 'workers' },
    { sid: 3, subject: 'svc.>', serve: true },
    { sid: 4, subject: 'x', onSlow: 'drop-oldest' },
    { sid: 5, subject: 'x', onSlow: 'drop-newest', queue: 'q' },
    { sid: 0xffffffff, subject: 'x', onSlow: 'disconnect', serve: true, queue: 'q' },
    { sid: 6, subject: '$STATE.vol', current: true },
    { sid: 7, subject: '>', monitor: true, onSlow: 'drop-newest' },
  ];
  for (const c of cases) {
    const b = body(encodeSub(c));
    assert.equal(b[0], Op.SUB);
    assert.deepEqual(decodeSub(b), {
      sid: c.sid,
      subject: c.subject,
      queue: c.queue,
      serve: c.serve,
      onSlow: c.onSlow,
      current: c.current,
      monitor: c.monitor,
    });
  }
});

void test('SUB refusals: sid 0, unknown policy, wrong types, long subject', () => {
  const sub = (m: Record<string, unknown>): Uint8Array =>
    Uint8Array.from([Op.SUB, ...encodeCbor(m)]);
  assert.throws(() => decodeSub(sub({ sid: 0, subject: 'a' })), protocolErr);
  assert.throws(() => decodeSub(sub({ sid: 1, subject: 'a', onSlow: 'block' })), protocolErr);
  assert.throws(() => decodeSub(sub({ sid: '1', subject: 'a' })), protocolErr);
  assert.throws(() => decodeSub(sub({ sid: 1.5, subject: 'a' })), protocolErr);
  assert.throws(() => decodeSub(sub({ sid: 2 ** 32, subject: 'a' })), protocolErr);
  assert.throws(() => decodeSub(sub({ sid: 1 })), protocolErr);
  assert.throws(() => decodeSub(sub({ sid: 1, subject: 'a', serve: 1 })), protocolErr);
  assert.throws(() => decodeSub(sub({ sid: 1, subject: 'a'.repeat(256) })), protocolErr);
});

void test('UNSUB round trip', () => {
  const b = body(encodeUnsub(42));
  assert.equal(b[0], Op.UNSUB);
  assert.equal(decodeUnsub(b), 42);
});

void test('CALL round trip, args default to {}', () => {
  const c = decodeCall(body(encodeCall(9, 'status', { verbose: true })));
  assert.deepEqual(
    { cid: c.cid, op: c.op, args: { ...c.args } },
    { cid: 9, op: 'status', args: { verbose: true } },
  );
  const noArgs = decodeCall(Uint8Array.from([Op.CALL, ...encodeCbor({ cid: 1, op: 'x' })]));
  assert.deepEqual({ ...noArgs.args }, {});
  assert.throws(
    () => decodeCall(Uint8Array.from([Op.CALL, ...encodeCbor({ cid: 1, op: 'x', args: 3 })])),
    protocolErr,
  );
});

void test('CALL_REPLY round trip, ok and failed', () => {
  const ok = decodeCallReply(body(encodeCallReply({ cid: 3, ok: true, result: { n: 1 } })));
  assert.deepEqual(
    { cid: ok.cid, ok: ok.ok, result: ok.result },
    { cid: 3, ok: true, result: { n: 1 } },
  );
  const bad = decodeCallReply(
    body(
      encodeCallReply({
        cid: 4,
        ok: false,
        result: undefined,
        code: ErrorCode.UNKNOWN_OP,
        message: 'nope',
      }),
    ),
  );
  assert.deepEqual(
    { cid: bad.cid, ok: bad.ok, code: bad.code, message: bad.message },
    { cid: 4, ok: false, code: ErrorCode.UNKNOWN_OP, message: 'nope' },
  );
  assert.throws(
    () =>
      decodeCallReply(
        Uint8Array.from([Op.CALL_REPLY, ...encodeCbor({ cid: 1, ok: false, code: 'E_NOPE' })]),
      ),
    protocolErr,
  );
});

void test('ERROR round trip with and without detail; unknown codes refused', () => {
  const e = decodeError(
    body(
      encodeError({
        code: ErrorCode.VERSION,
        message: 'v',
        fatal: true,
        detail: { client: 2, server: 1 },
      }),
    ),
  );
  assert.deepEqual(
    { ...e, detail: { ...e.detail } },
    { code: ErrorCode.VERSION, message: 'v', fatal: true, detail: { client: 2, server: 1 } },
  );
  const nf = decodeError(
    body(encodeError({ code: ErrorCode.BAD_SUBJECT, message: 'm', fatal: false })),
  );
  assert.deepEqual(nf, {
    code: ErrorCode.BAD_SUBJECT,
    message: 'm',
    fatal: false,
    detail: undefined,
  });
  assert.throws(
    () =>
      decodeError(
        Uint8Array.from([Op.ERROR, ...encodeCbor({ code: 'BUS_ERR_MADE_UP', message: 'x' })]),
      ),
    protocolErr,
  );
});

void test('GAP round trip, exact length required', () => {
  for (const [sid, lost, first, last] of [
    [1, 1, 1, 1],
    [300, 70000, 2 ** 40, 2 ** 40 + 70000],
    [2 ** 32 - 1, 2 ** 32 - 1, 2 ** 53 - 2, 2 ** 53 - 1],
  ] as const) {
    const b = body(encodeGap(sid, lost, first, last));
    assert.equal(b[0], Op.GAP);
    assert.deepEqual(decodeGap(b), { sid, lost, firstId: first, lastId: last });
    assert.throws(() => decodeGap(b.subarray(0, b.length - 1)), protocolErr);
    assert.throws(() => decodeGap(Uint8Array.from([...b, 0])), protocolErr);
  }
});

void test('PING and PONG are one-byte bodies', () => {
  assert.deepEqual([...encodeBare(Op.PING)], [1, Op.PING]);
  assert.deepEqual([...encodeBare(Op.PONG)], [1, Op.PONG]);
});

void test('header block round trip and structure checks', () => {
  const h = { a: '1', ключ: 'значение', empty: '' };
  const block = encodeHeaders(h);
  assert.equal(skipHeaders(block, 0, block.length), block.length);
  assert.deepEqual({ ...decodeHeaders(block, 0) }, h);
  assert.throws(() => skipHeaders(block, 0, block.length - 1), protocolErr);
  assert.throws(() => skipHeaders(Uint8Array.from([0x81, 0x08]), 0, 2), protocolErr); // 1025 pairs
  assert.throws(() => decodeHeaders(Uint8Array.from([1, 1, 0xff, 0]), 0), protocolErr); // invalid UTF-8
  assert.throws(() => encodeHeaders({ a: 1 as unknown as string }), TypeError);
});

void test('PUB layout: flags, priority, subject, type, headers, payload', () => {
  const extras = encodeExtras({ type: 0xfffffffe, headers: { k: 'v' } });
  const flags = extras.flags;
  assert.equal(flags, Flag.TYPE | Flag.HEADERS);
  const size = pubFrameSize('a.b', 3, extras);
  const buf = new Uint8Array(size + 4);
  assert.equal(writePub(buf, 2, 'a.b', bytes('xyz'), 200, extras), size + 2);
  const b = body(buf.subarray(2, 2 + size));
  assert.deepEqual([...b.subarray(0, 4)], [Op.PUB, flags, 200, 3]);
  assert.equal(readAscii(b, 4, 7), 'a.b');
  assert.equal(readU32(b, 7), 0xfffffffe);
  const payloadAt = checkTail(b, 7, flags, Flag.TYPE | Flag.HEADERS);
  assert.equal(text(b.subarray(payloadAt)), 'xyz');
  assert.throws(() => encodeExtras({ type: 2 ** 32 }), RangeError);
  assert.throws(() => encodeExtras({ type: -1 }), RangeError);
});

void test('checkTail refuses unknown flags and truncated tails', () => {
  assert.throws(
    () => checkTail(new Uint8Array(10), 0, Flag.REPLY, Flag.TYPE | Flag.HEADERS),
    protocolErr,
  );
  assert.throws(() => checkTail(new Uint8Array(10), 0, 0x10, 0xff & ~0x10), protocolErr);
  assert.throws(() => checkTail(new Uint8Array(3), 0, Flag.TYPE, Flag.TYPE), protocolErr);
  assert.equal(checkTail(new Uint8Array(4), 0, Flag.TYPE, Flag.TYPE), 4);
});

void test('REQ layout with type and headers', () => {
  const b = body(
    encodeReq(0xdeadbeef, 2500, 'svc.x', bytes('q'), 7, { type: 5, headers: { h: 'v' } }),
  );
  assert.deepEqual([...b.subarray(0, 3)], [Op.REQ, Flag.TYPE | Flag.HEADERS, 7]);
  assert.equal(readU32(b, 3), 0xdeadbeef);
  assert.equal(readU32(b, 7), 2500);
  assert.equal(b[11], 5);
  assert.equal(readAscii(b, 12, 17), 'svc.x');
  assert.equal(readU32(b, 17), 5);
  assert.deepEqual({ ...decodeHeaders(b, 21) }, { h: 'v' });
  assert.equal(text(b.subarray(checkTail(b, 17, b[1]!, Flag.TYPE | Flag.HEADERS))), 'q');
  const plain = body(encodeReq(1, 0, 's', new Uint8Array(0), 0));
  assert.equal(plain.length, 13);
});

void test('RES layout with type and headers', () => {
  const b = body(
    encodeRes(2 ** 40 + 3, ResStatus.ERROR, bytes('boom'), { type: 9, headers: { a: 'b' } }),
  );
  assert.deepEqual([...b.subarray(0, 3)], [Op.RES, Flag.TYPE | Flag.HEADERS, ResStatus.ERROR]);
  assert.equal(readU64(b, 3), 2 ** 40 + 3);
  assert.equal(readU32(b, 11), 9);
  assert.equal(text(b.subarray(checkTail(b, 11, b[1]!, Flag.TYPE | Flag.HEADERS))), 'boom');
});

void test('SEND layout with type and headers; to 0 is broadcast', () => {
  const b = body(encodeSend(0, bytes('all'), 3, { type: 1, headers: {} }));
  assert.deepEqual([...b.subarray(0, 3)], [Op.SEND, Flag.TYPE | Flag.HEADERS, 3]);
  assert.equal(readU32(b, 3), 0);
  assert.equal(readU32(b, 7), 1);
  assert.equal(b[11], 0, 'empty header block: count 0');
  assert.equal(text(b.subarray(12)), 'all');
  assert.equal(readU32(body(encodeSend(0xffffffff, bytes('x'), 0)), 3), 0xffffffff);
});

void test('REPLY round trip with type and headers, for every status', () => {
  const tail = Uint8Array.from([0x2a, 0, 0, 0, ...encodeHeaders({ k: 'v' }), ...bytes('ok')]);
  for (const status of Object.values(ReplyStatus)) {
    const r = decodeReply(
      body(
        encodeReply(77, status, Flag.TYPE | Flag.HEADERS, { id: 5, uid: 1000, pid: 4242 }, tail),
      ),
    );
    assert.deepEqual(
      {
        reqId: r.reqId,
        status: r.status,
        from: r.from,
        uid: r.uid,
        pid: r.pid,
        type: r.type,
        headers: { ...r.headers },
        data: text(r.data),
      },
      {
        reqId: 77,
        status,
        from: 5,
        uid: 1000,
        pid: 4242,
        type: 42,
        headers: { k: 'v' },
        data: 'ok',
      },
    );
  }
  const headersOnly = decodeReply(
    body(
      encodeReply(
        1,
        0,
        Flag.HEADERS,
        daemonSender(0, 1),
        Uint8Array.from([...encodeHeaders({ x: 'y' }), 1]),
      ),
    ),
  );
  assert.deepEqual({ ...headersOnly.headers }, { x: 'y' });
  assert.equal(headersOnly.type, undefined);
  assert.throws(
    () =>
      decodeReply(
        Uint8Array.from([Op.REPLY, 1, 0, 0, 0, 0, 0, 0, 0, 0, ...new Array<number>(8).fill(0)]),
      ),
    protocolErr,
  );
  assert.throws(
    () => decodeReply(body(encodeReply(1, 0, Flag.REPLY, daemonSender(0, 1), new Uint8Array(0)))),
    protocolErr,
  );
});

void test('MSG decode: reply token, type, headers, broadcast; truncations refused', () => {
  // Build a MSG by hand: 0x11 | sid | flags prio from uid pid id slen subject [token] tail.
  const subject = 'a.b';
  const tail = Uint8Array.from([7, 0, 0, 0, ...encodeHeaders({ h: '1' }), ...bytes('data')]);
  const env = new Uint8Array(23 + subject.length + 8 + tail.length);
  env[0] = Flag.REPLY | Flag.TYPE | Flag.HEADERS;
  env[1] = 9;
  env.set([4, 0, 0, 0], 2);
  env.set([0xe8, 0x03, 0, 0], 6);
  env.set([0x39, 0x30, 0, 0], 10);
  writeU64(env, 14, 2 ** 33);
  env[22] = subject.length;
  env.set(bytes(subject), 23);
  writeU64(env, 26, 12345);
  env.set(tail, 34);
  const b = Uint8Array.from([Op.MSG, 0xac, 0x02, ...env]);
  const m = decodeMsg(b);
  assert.deepEqual(
    {
      sid: m.sid,
      flags: m.flags,
      priority: m.priority,
      from: m.from,
      uid: m.uid,
      pid: m.pid,
      id: m.id,
      subject: m.subject,
      token: m.token,
      type: m.type,
      headers: { ...m.headers },
      data: text(m.data),
    },
    {
      sid: 300,
      flags: env[0],
      priority: 9,
      from: 4,
      uid: 1000,
      pid: 12345,
      id: 2 ** 33,
      subject: 'a.b',
      token: 12345,
      type: 7,
      headers: { h: '1' },
      data: 'data',
    },
  );
  assert.throws(() => decodeMsg(b.subarray(0, 10)), protocolErr);
  assert.throws(() => decodeMsg(b.subarray(0, 3 + 23 + 2)), protocolErr);
  assert.throws(() => decodeMsg(b.subarray(0, 3 + 26 + 4)), protocolErr);
  assert.throws(() => decodeMsg(Uint8Array.from([Op.MSG, 0x80])), protocolErr);
  // In place (decodeMsgAt): the same fields from the middle of a larger buffer, and every
  // truncation is caught at `end` even when more bytes follow it.
  const framed = Uint8Array.from([0xee, 0xee, ...b, ...new Array<number>(64).fill(0x7f)]);
  const at = decodeMsgAt(framed, 2, 2 + b.length);
  assert.deepEqual(
    [at.sid, at.subject, at.token, at.type, text(at.data)],
    [300, 'a.b', 12345, 7, 'data'],
  );
  for (const cut of [10, 3 + 23 + 2, 3 + 26 + 4, 3 + 34 + 2]) {
    assert.throws(() => decodeMsgAt(framed, 2, 2 + cut), protocolErr, `cut at ${cut}`);
  }
  const unknownFlag = b.slice();
  unknownFlag[3] = 0x10;
  assert.throws(() => decodeMsg(unknownFlag), protocolErr);
});

void test('frame() prefixes the varint length', () => {
  assert.deepEqual([...frame(Uint8Array.from([1, 2]))], [2, 1, 2]);
  const big = frame(new Uint8Array(200));
  assert.deepEqual([...big.subarray(0, 2)], [0xc8, 0x01]);
  assert.equal(big.length, 202);
});
