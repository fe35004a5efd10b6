// Tests that docs/PROTOCOL.md matches the code: every ```hex example decodes to what its prose says and is byte-equal to what the encoders and the broker produce.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Broker } from '../../src/broker/broker.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { readAscii, readU32, readU64 } from '../../src/protocol/bytes.js';
import { Flag, Op, PROTOCOL_VERSION, ReplyStatus } from '../../src/protocol/constants.js';
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
  encodeHello,
  encodeSub,
  encodeUnsub,
  frame,
} from '../../src/protocol/control-frames.js';
import {
  decodeGap,
  decodeMsg,
  decodeReply,
  encodeGap,
} from '../../src/protocol/delivery-frames.js';
import { NO_EXTRAS, encodeExtras } from '../../src/protocol/extras.js';
import { encodeReq, encodeRes, encodeSend, writePub } from '../../src/protocol/message-frames.js';
import { MemPeer, tick } from '../helpers/mem-conn.js';

const docUrl = new URL('../../../docs/PROTOCOL.md', import.meta.url);
const doc = readFileSync(docUrl, 'utf8');

interface Example {
  name: string;
  bytes: Uint8Array;
  /** Prose between the previous heading and the block. */
  prose: string;
  /** Concatenated `bytes` column of the breakdown table that follows the block. */
  tableBytes: Uint8Array;
}

function parseHex(text: string): Uint8Array {
  const tokens = text
    .trim()
    .split(/\s+/)
    .filter((t) => t !== '');
  for (const t of tokens) assert.match(t, /^[0-9a-f]{2}$/, `bad hex token ${JSON.stringify(t)}`);
  return Uint8Array.from(tokens.map((t) => parseInt(t, 16)));
}

function extractExamples(md: string): Example[] {
  const out: Example[] = [];
  const re = /```hex ([A-Za-z0-9_-]+)\n([\s\S]*?)```/g;
  for (let m = re.exec(md); m !== null; m = re.exec(md)) {
    const name = m[1]!;
    const before = md.slice(0, m.index);
    const heading = Math.max(before.lastIndexOf('\n#'), before.lastIndexOf('```\n'));
    const prose = before.slice(heading + 1).replace(/\s+/g, ' ');
    // The breakdown table: consecutive `|` lines after the block.
    const after = md.slice(m.index + m[0].length).replace(/^\s*\n/, '');
    const rows: string[] = [];
    for (const line of after.split('\n')) {
      if (!line.startsWith('|')) break;
      rows.push(line);
    }
    const hexCells = rows
      .map((r) => /^\|\s*`([0-9a-f ]+)`\s*\|/.exec(r)?.[1])
      .filter((c): c is string => c !== undefined);
    out.push({ name, bytes: parseHex(m[2]!), prose, tableBytes: parseHex(hexCells.join(' ')) });
  }
  return out;
}

/** The single frame body of a whole frame, decoded with the real FrameDecoder. */
function body(frameBytes: Uint8Array): Uint8Array {
  const bodies: Uint8Array[] = [];
  new FrameDecoder(1024 * 1024).push(frameBytes, (b) => bodies.push(b.slice()));
  assert.equal(bodies.length, 1, 'one example block must be exactly one frame');
  return bodies[0]!;
}

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** The frames the docs' scenario produces with the real encoders and a real broker. */
async function scenario(): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  const broker = new Broker({
    serverVersion: '0.1.0',
    schedule: (fn) => queueMicrotask(fn),
    self: { uid: 1000, pid: 4000 },
  });
  const a = new MemPeer(broker, { uid: 1000, gid: 1000, pid: 4242 });
  out.set('hello-client', encodeHello(PROTOCOL_VERSION, { name: 'demo', pid: 4242 }));
  a.send(out.get('hello-client')!);
  await tick();
  out.set('hello-server', frame(a.frames[0]!));
  out.set('sub-demo', encodeSub({ sid: 1, subject: 'demo.*' }));
  a.send(out.get('sub-demo')!);
  const b = new MemPeer(broker, { uid: 1000, gid: 1000, pid: 4243 });
  b.send(encodeHello(PROTOCOL_VERSION, { name: 'pub', pid: 4243 }));
  await tick();
  let buf = new Uint8Array(64);
  out.set('pub-demo-x', buf.slice(0, writePub(buf, 0, 'demo.x', text2('hi'), 0, NO_EXTRAS)));
  a.reset();
  b.send(out.get('pub-demo-x')!);
  await tick();
  out.set('msg-demo-x', frame(a.frames[0]!));
  const c = new MemPeer(broker);
  c.send(encodeHello(2, { name: 'future' }));
  await tick();
  out.set('error-version', frame(c.frames[0]!));
  const ex = encodeExtras({ type: 42, headers: { k: 'v' } });
  buf = new Uint8Array(64);
  const end = writePub(buf, 0, 'demo.x', text2('hi'), 5, ex);
  out.set('pub-typed', buf.slice(0, end));
  a.reset();
  b.send(out.get('pub-typed')!);
  await tick();
  out.set('msg-typed', frame(a.frames[0]!));
  a.send(encodeSub({ sid: 2, subject: 'svc.time', serve: true }));
  out.set('req-svc-time', encodeReq(7, 1000, 'svc.time', text2('now?'), 0));
  a.reset();
  b.send(out.get('req-svc-time')!);
  await tick();
  out.set('msg-request', frame(a.frames[0]!));
  out.set('res-ok', encodeRes(decodeMsg(a.frames[0]!).token, 0, text2('12:00')));
  b.reset();
  a.send(out.get('res-ok')!);
  await tick();
  out.set('reply-ok', frame(b.frames[0]!));
  b.reset();
  b.send(encodeReq(8, 1000, 'svc.none', new Uint8Array(0), 0));
  await tick();
  out.set('reply-no-responders', frame(b.frames[0]!));
  out.set('send-direct', encodeSend(1, text2('yo'), 0));
  a.reset();
  b.send(out.get('send-direct')!);
  await tick();
  out.set('msg-direct', frame(a.frames[0]!));
  b.reset();
  b.send(encodeSend(99, text2('x'), 0));
  await tick();
  out.set('error-no-such-client', frame(b.frames[0]!));
  out.set('gap', encodeGap(1, 3, 3, 5));
  out.set('ping', encodeBare(Op.PING));
  out.set('unsub', encodeUnsub(1));
  out.set('call-echo', encodeCall(1, 'echo', { x: 1 }));
  out.set(
    'call-timer-start',
    encodeCall(4, 'timer.start', { name: 't', intervalMs: 50, count: 5 }),
  );
  a.reset();
  a.send(out.get('call-echo')!);
  await tick();
  out.set('call-reply-echo', frame(a.frames[0]!));
  // Shared state: client 2 sets `vol`, client 1 watches it, client 2 sets it again.
  out.set('call-state-set', encodeCall(2, 'state.set', { key: 'vol', value: text2('0.2') }));
  b.reset();
  b.send(out.get('call-state-set')!);
  await tick();
  out.set('call-reply-state-set', frame(b.frames[0]!));
  out.set('sub-watch-vol', encodeSub({ sid: 3, subject: '$STATE.vol', current: true }));
  a.reset();
  a.send(out.get('sub-watch-vol')!);
  await tick();
  out.set('msg-state-cur', frame(a.frames[0]!));
  a.reset();
  b.send(encodeCall(3, 'state.set', { key: 'vol', value: text2('0.5') }));
  await tick();
  out.set('msg-state-set', frame(a.frames[0]!));
  return out;
}

function text2(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** Per example: strings its prose must contain, and checks of the decoded fields. */
const checks: Record<string, { prose: string[]; check: (b: Uint8Array) => void }> = {
  'hello-client': {
    prose: ['version 1', '"demo"', '4242'],
    check: (b) => {
      assert.deepEqual(decodeClientHello(b), {
        version: 1,
        name: 'demo',
        pid: 4242,
        pingMs: undefined,
      });
    },
  },
  'hello-server': {
    prose: ['"udsbus"', '"0.1.0"', 'id is 1', '1048576', '16777216', '100000'],
    check: (b) => {
      assert.deepEqual(decodeServerHello(b), {
        version: 1,
        server: 'udsbus',
        serverVersion: '0.1.0',
        id: 1,
        maxFrame: 1048576,
        pingMs: 0,
        maxQueueBytes: 16777216,
        maxQueueMsgs: 100000,
      });
    },
  },
  'sub-demo': {
    prose: ['sid 1', '"demo.*"'],
    check: (b) => {
      assert.equal(b[0], Op.SUB);
      const s = decodeSub(b);
      assert.equal(s.sid, 1);
      assert.equal(s.subject, 'demo.*');
      assert.equal(s.queue, undefined);
      assert.equal(s.serve, undefined);
      assert.equal(s.onSlow, undefined);
    },
  },
  'pub-demo-x': {
    prose: ['"hi"', '"demo.x"', 'priority 0'],
    check: (b) => {
      // PUB has no decoder in protocol/ (the broker reads it in place): check each field.
      assert.equal(b[0], Op.PUB);
      assert.equal(b[1], 0, 'flags');
      assert.equal(b[2], 0, 'priority');
      assert.equal(b[3], 6, 'subjectLen');
      assert.equal(readAscii(b, 4, 10), 'demo.x');
      assert.equal(text(b.subarray(10)), 'hi');
    },
  },
  'msg-demo-x': {
    prose: ['sid 1', 'client 2', 'uid 1000', 'pid 4243', 'id 1', '"demo.x"', '"hi"'],
    check: (b) => {
      assert.equal(b[0], Op.MSG);
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
        },
        { sid: 1, flags: 0, priority: 0, from: 2, uid: 1000, pid: 4243, id: 1, subject: 'demo.x' },
      );
      assert.equal(text(m.data), 'hi');
    },
  },
  'error-version': {
    prose: ['version 2', 'client 2, server 1', '129'],
    check: (b) => {
      assert.equal(b[0], Op.ERROR);
      assert.equal(b.length, 129);
      const e = decodeError(b);
      assert.equal(e.code, ErrorCode.VERSION);
      assert.equal(e.fatal, true);
      assert.deepEqual({ ...e.detail }, { client: 2, server: 1 });
      assert.match(e.message, /version 2.*version 1/);
    },
  },
  'pub-typed': {
    prose: ['"hi"', '"demo.x"', 'priority 5', 'type 42', '`k` = `v`'],
    check: (b) => {
      assert.equal(b[0], Op.PUB);
      assert.equal(b[1], Flag.TYPE | Flag.HEADERS);
      assert.equal(b[2], 5);
      assert.equal(readAscii(b, 4, 4 + b[3]!), 'demo.x');
      assert.equal(readU32(b, 10), 42);
    },
  },
  'msg-typed': {
    prose: ['sid 1', 'message id 2'],
    check: (b) => {
      const m = decodeMsg(b);
      assert.equal(m.sid, 1);
      assert.equal(m.id, 2);
      assert.equal(m.priority, 5);
      assert.equal(m.type, 42);
      assert.deepEqual({ ...m.headers }, { k: 'v' });
      assert.equal(text(m.data), 'hi');
    },
  },
  'req-svc-time': {
    prose: ['request 7', '"svc.time"', '1000 ms', '"now?"'],
    check: (b) => {
      assert.equal(b[0], Op.REQ);
      assert.equal(readU32(b, 3), 7);
      assert.equal(readU32(b, 7), 1000);
      assert.equal(readAscii(b, 12, 12 + b[11]!), 'svc.time');
      assert.equal(text(b.subarray(12 + b[11]!)), 'now?');
    },
  },
  'msg-request': {
    prose: ['sid 2', 'client 2', 'message id 3', 'token 1'],
    check: (b) => {
      const m = decodeMsg(b);
      assert.equal(m.sid, 2);
      assert.equal(m.flags, Flag.REPLY);
      assert.equal(m.from, 2);
      assert.equal(m.id, 3);
      assert.equal(m.token, 1);
      assert.equal(m.subject, 'svc.time');
      assert.equal(text(m.data), 'now?');
    },
  },
  'res-ok': {
    prose: ['token 1', '"12:00"'],
    check: (b) => {
      assert.equal(b[0], Op.RES);
      assert.equal(b[2], 0);
      assert.equal(readU64(b, 3), 1);
      assert.equal(text(b.subarray(11)), '12:00');
    },
  },
  'reply-ok': {
    prose: ['reqId 7', 'client 1', 'uid 1000', 'pid 4242', '"12:00"'],
    check: (b) => {
      const r = decodeReply(b);
      assert.deepEqual(
        { reqId: r.reqId, status: r.status, from: r.from, uid: r.uid, pid: r.pid },
        { reqId: 7, status: ReplyStatus.OK, from: 1, uid: 1000, pid: 4242 },
      );
      assert.equal(text(r.data), '12:00');
    },
  },
  'reply-no-responders': {
    prose: ['request 8', 'status 2'],
    check: (b) => {
      const r = decodeReply(b);
      assert.deepEqual(
        { reqId: r.reqId, status: r.status, from: r.from, pid: r.pid, len: r.data.length },
        { reqId: 8, status: ReplyStatus.NO_RESPONDERS, from: 0, pid: 4000, len: 0 },
      );
    },
  },
  'send-direct': {
    prose: ['"yo"', 'client 1'],
    check: (b) => {
      assert.equal(b[0], Op.SEND);
      assert.equal(readU32(b, 3), 1);
      assert.equal(text(b.subarray(7)), 'yo');
    },
  },
  'msg-direct': {
    prose: ['sid 0', 'client 2', 'message id 4'],
    check: (b) => {
      const m = decodeMsg(b);
      assert.deepEqual(
        { sid: m.sid, from: m.from, id: m.id, subject: m.subject, flags: m.flags },
        { sid: 0, from: 2, id: 4, subject: '', flags: 0 },
      );
      assert.equal(text(m.data), 'yo');
    },
  },
  'error-no-such-client': {
    prose: ['id 99', 'non-fatal'],
    check: (b) => {
      const e = decodeError(b);
      assert.equal(e.code, ErrorCode.NO_SUCH_CLIENT);
      assert.equal(e.fatal, false);
    },
  },
  gap: {
    prose: ['Subscription 1', '3 messages', 'id 3', 'id 5'],
    check: (b) => {
      assert.deepEqual(decodeGap(b), { sid: 1, lost: 3, firstId: 3, lastId: 5 });
    },
  },
  ping: {
    prose: ['PING'],
    check: (b) => {
      assert.deepEqual([...b], [Op.PING]);
    },
  },
  unsub: {
    prose: ['subscription 1'],
    check: (b) => {
      assert.equal(decodeUnsub(b), 1);
    },
  },
  'call-timer-start': {
    prose: ['timer `t`', 'call id 4', 'every 50 ms', '5 times'],
    check: (b) => {
      const c = decodeCall(b);
      assert.deepEqual(
        { cid: c.cid, op: c.op, args: { ...c.args } },
        { cid: 4, op: 'timer.start', args: { name: 't', intervalMs: 50, count: 5 } },
      );
    },
  },
  'call-echo': {
    prose: ['`echo`', 'call id 1', '`{ x: 1 }`'],
    check: (b) => {
      const c = decodeCall(b);
      assert.deepEqual(
        { cid: c.cid, op: c.op, args: { ...c.args } },
        { cid: 1, op: 'echo', args: { x: 1 } },
      );
    },
  },
  'call-reply-echo': {
    prose: [],
    check: (b) => {
      const r = decodeCallReply(b);
      assert.equal(r.cid, 1);
      assert.equal(r.ok, true);
      assert.deepEqual({ ...(r.result as object) }, { x: 1 });
    },
  },
};

/** The fields of a state message (MSG on `$STATE.<key>`) that the examples state. */
function stateMsg(b: Uint8Array): Record<string, unknown> {
  const m = decodeMsg(b);
  return {
    sid: m.sid,
    from: m.from,
    subject: m.subject,
    headers: { ...m.headers },
    data: text(m.data),
  };
}

checks['call-state-set'] = {
  prose: ['`state.set`', 'call id 2', '`"vol"`', '`"0.2"`'],
  check: (b) => {
    const c = decodeCall(b);
    assert.deepEqual(
      { cid: c.cid, op: c.op, args: { ...c.args } },
      { cid: 2, op: 'state.set', args: { key: 'vol', value: text2('0.2') } },
    );
  },
};
checks['call-reply-state-set'] = {
  prose: ['revision 1', 'prev 0'],
  check: (b) => {
    const r = decodeCallReply(b);
    assert.deepEqual(
      [r.cid, r.ok, { ...(r.result as object) }],
      [2, true, { revision: 1, prev: 0 }],
    );
  },
};
checks['sub-watch-vol'] = {
  prose: ['sid 3', '`"$STATE.vol"`', '`current: true`'],
  check: (b) => {
    const s = decodeSub(b);
    assert.deepEqual([s.sid, s.subject, s.current], [3, '$STATE.vol', true]);
  },
};
checks['msg-state-cur'] = {
  prose: ['sid 3', 'client 2', '`op` = `cur`', '`rev` = `1`', '"0.2"'],
  check: (b) => {
    assert.deepEqual(stateMsg(b), {
      sid: 3,
      from: 2,
      subject: '$STATE.vol',
      headers: { op: 'cur', rev: '1' },
      data: '0.2',
    });
  },
};
checks['msg-state-set'] = {
  prose: ['`op` = `set`', '`rev` = `2`', '`prev` = `1`', '"0.5"'],
  check: (b) => {
    assert.deepEqual(stateMsg(b), {
      sid: 3,
      from: 2,
      subject: '$STATE.vol',
      headers: { op: 'set', rev: '2', prev: '1' },
      data: '0.5',
    });
  },
};

const required = [
  'hello-client',
  'hello-server',
  'sub-demo',
  'pub-demo-x',
  'msg-demo-x',
  'error-version',
];

void describe('docs/PROTOCOL.md', () => {
  const examples = extractExamples(doc);

  void test('has the required examples, each once, and no unchecked one', () => {
    const names = examples.map((e) => e.name);
    for (const r of required) assert.ok(names.includes(r), `missing example ${r}`);
    assert.equal(new Set(names).size, names.length, 'example names must be unique');
    for (const n of names) assert.ok(n in checks, `example ${n} has no check in this test`);
  });

  void test('every example is one whole frame whose breakdown table adds up to its bytes', () => {
    for (const ex of examples) {
      assert.ok(ex.bytes.length >= 2, ex.name);
      assert.deepEqual(
        [...ex.tableBytes],
        [...ex.bytes],
        `${ex.name}: table bytes differ from the block`,
      );
      body(ex.bytes);
    }
  });

  void test('every example decodes to the fields its prose states', () => {
    for (const ex of examples) {
      const c = checks[ex.name]!;
      for (const s of c.prose)
        assert.ok(ex.prose.includes(s), `${ex.name}: prose should mention ${s}`);
      c.check(body(ex.bytes));
    }
  });

  void test('every example is byte-equal to what the encoders and the broker produce now', async () => {
    const real = await scenario();
    for (const ex of examples) {
      const want = real.get(ex.name);
      assert.ok(want !== undefined, `no generator for ${ex.name}`);
      const hex = [...want].map((x) => x.toString(16).padStart(2, '0')).join(' ');
      assert.deepEqual(
        [...ex.bytes],
        [...want],
        `${ex.name} drifted; the code now produces:\n${hex}`,
      );
    }
  });

  void test('the op table lists every op with its code', () => {
    for (const [name, code] of Object.entries(Op)) {
      const row = new RegExp(
        `\\|\\s*\`0x${code.toString(16).padStart(2, '0')}\`\\s*\\|\\s*${name}\\s*\\|`,
      );
      assert.match(doc, row, `op ${name}`);
    }
  });

  void test('the error table lists every BUS_ERR_* code', () => {
    for (const code of Object.values(ErrorCode)) {
      assert.match(doc, new RegExp(`\\|\\s*\`${code}\`\\s*\\|`), code);
    }
  });

  void test('the flag table matches Flag', () => {
    for (const [name, bit] of Object.entries(Flag)) {
      assert.match(
        doc,
        new RegExp(`\\|\\s*\`0x0${bit.toString(16)}\`\\s*\\|\\s*${name}\\s*\\|`),
        name,
      );
    }
  });
});
