// Tests shared state: the StateStore (revisions, compare-and-set, limits, listing, load) and the
// broker's state calls and watches over in-memory Conns (current values first, changes with
// rev/prev headers, deletions, `$STATE` publishing refused, bounded snapshots).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Broker, type BrokerOptions } from '../../src/broker/broker.js';
import { StateStore } from '../../src/broker/state.js';
import { encodeCall, encodeSub } from '../../src/protocol/control-frames.js';
import { daemonSender, type MsgFields } from '../../src/protocol/delivery-frames.js';
import { BusError, ErrorCode } from '../../src/protocol/errors.js';
import { encodePub } from '../../src/protocol/message-frames.js';
import { stateKeyProblem, subjectMatches } from '../../src/protocol/state.js';
import { helloPeer, tick, type MemPeer } from '../helpers/mem-conn.js';

const enc = new TextEncoder();
const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const me = daemonSender(1000, 42);
const limits = { maxKeys: 3, maxValueBytes: 8, maxBytes: 29 };

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof BusError, String(err));
    return `${err.code}: ${err.message}`;
  }
  assert.fail('expected a BusError');
}

void test('revisions come from one store-wide counter; a change reports the revision it replaced', () => {
  const s = new StateStore(limits);
  assert.deepEqual(pick(s.set('a', enc.encode('1'), {}, me)), { revision: 1, prev: 0 });
  assert.deepEqual(pick(s.set('b', enc.encode('1'), {}, me)), { revision: 2, prev: 0 });
  assert.deepEqual(pick(s.set('a', enc.encode('2'), {}, me)), { revision: 3, prev: 1 });
  assert.deepEqual(pick(s.delete('a')), { revision: 4, prev: 3 });
  // Re-created after a deletion: a new, higher revision, and prev 0 (it did not exist).
  assert.deepEqual(pick(s.set('a', enc.encode('3'), {}, me)), { revision: 5, prev: 0 });
  assert.equal(s.revision, 5);
  assert.equal(text(s.get('a')!.value), '3');
  assert.equal(s.get('zz'), undefined);
});

function pick(c: { revision: number; prev: number }): { revision: number; prev: number } {
  return { revision: c.revision, prev: c.prev };
}

void test('compare-and-set: ifRevision must be the current revision (0: the key must not exist)', () => {
  const s = new StateStore(limits);
  s.set('vol', enc.encode('0.2'), { ifRevision: 0 }, me);
  assert.equal(
    code(() => s.set('vol', enc.encode('0.3'), { ifRevision: 0 }, me)),
    'BUS_ERR_CONFLICT: state.set vol: revision conflict: its revision is 1, expected no key (ifRevision 0)',
  );
  s.set('vol', enc.encode('0.5'), { ifRevision: 1 }, me);
  assert.equal(
    code(() => s.set('vol', enc.encode('0.9'), { ifRevision: 1 }, me)),
    'BUS_ERR_CONFLICT: state.set vol: revision conflict: its revision is 2, expected 1',
  );
  assert.equal(
    code(() => s.delete('vol', 1)),
    'BUS_ERR_CONFLICT: state.delete vol: revision conflict: its revision is 2, expected 1',
  );
  assert.equal(text(s.get('vol')!.value), '0.5', 'refused writes change nothing');
  assert.equal(s.revision, 2, 'refused writes take no revision');
  assert.equal(
    code(() => s.delete('nope')),
    'BUS_ERR_NOT_FOUND: state.delete nope: no such key',
  );
});

void test('limits: value bytes, key count and total bytes are refused with BUS_ERR_LIMIT naming the key', () => {
  const s = new StateStore(limits);
  assert.equal(
    code(() => s.set('big', new Uint8Array(9), {}, me)),
    'BUS_ERR_LIMIT: state.set big: a value of 9 bytes is over the limit of 8 bytes (maxStateValueBytes)',
  );
  s.set('k1', new Uint8Array(8), {}, me);
  s.set('k2', new Uint8Array(8), {}, me);
  assert.equal(s.bytes, 20);
  assert.equal(
    code(() => s.set('k3', new Uint8Array(8), {}, me)),
    'BUS_ERR_LIMIT: state.set k3: the store would hold 30 bytes, over its limit of 29 (maxStateBytes)',
  );
  s.set('k3', new Uint8Array(7), {}, me); // 29 bytes: fits
  assert.equal(
    code(() => s.set('k4', new Uint8Array(0), {}, me)),
    'BUS_ERR_LIMIT: state.set k4: the store holds 3 keys, its limit (maxStateKeys)',
  );
  // Overwriting an existing key is not a new key, and its old bytes are given back.
  s.set('k3', new Uint8Array(1), {}, me);
  assert.equal(s.bytes, 23);
  s.delete('k1');
  assert.equal(s.size, 2);
  assert.equal(s.bytes, 13);
});

void test('keys follow the subject rules, are at most 248 bytes and may not start with $', () => {
  assert.equal(stateKeyProblem('audio.vol'), null);
  assert.equal(stateKeyProblem('a'.repeat(248)), null);
  assert.match(stateKeyProblem('a'.repeat(249))!, /longer than 248 bytes/);
  assert.match(stateKeyProblem('$SYS.x')!, /starts with "\$"/);
  assert.match(stateKeyProblem('a b')!, /^key "a b" contains a space/);
  assert.match(stateKeyProblem('a.*')!, /wildcard/);
  assert.equal(stateKeyProblem('a.*', true), null);
  const s = new StateStore(limits);
  assert.match(
    code(() => s.set('a..b', new Uint8Array(0), {}, me)),
    /^BUS_ERR_BAD_SUBJECT: state.set: key/,
  );
  assert.ok(subjectMatches('a.>', 'a.b.c') && subjectMatches('*.b', 'a.b'));
  assert.ok(!subjectMatches('a.>', 'a') && !subjectMatches('a.*', 'a.b.c'));
});

void test('listing: a pattern, sorted pages with next; the persisted subset; load keeps revisions', () => {
  const s = new StateStore({ maxKeys: 100, maxValueBytes: 100, maxBytes: 10_000 });
  for (const k of ['b.2', 'a.1', 'b.1', 'c']) s.set(k, enc.encode(k), { persist: k !== 'c' }, me);
  const p1 = s.page('>', '', 2);
  assert.deepEqual(
    p1.entries.map((e) => e.key),
    ['a.1', 'b.1'],
  );
  assert.equal(p1.next, 'b.1');
  const p2 = s.page('>', p1.next, 2);
  assert.deepEqual(
    p2.entries.map((e) => e.key),
    ['b.2', 'c'],
  );
  assert.equal(p2.next, null);
  assert.deepEqual(
    s.page('b.*', '', 10).entries.map((e) => e.key),
    ['b.1', 'b.2'],
  );
  const saved = s.persisted();
  assert.equal(saved.revision, 4);
  assert.deepEqual(saved.entries.map((e) => [e.key, e.revision]).sort(), [
    ['a.1', 2],
    ['b.1', 3],
    ['b.2', 1],
  ]);
  const t = new StateStore({ maxKeys: 100, maxValueBytes: 2, maxBytes: 10_000 });
  const skipped = t.load(
    {
      ...saved,
      entries: [...saved.entries, { key: 'x y', value: new Uint8Array(1), revision: 9 }],
    },
    me,
  );
  // b.1, b.2, a.1 hold 3-byte values: over this store's value limit; 'x y' is not a key.
  assert.equal(skipped.length, 4);
  const u = new StateStore({ maxKeys: 100, maxValueBytes: 100, maxBytes: 10_000 });
  assert.deepEqual(u.load(saved, me), []);
  assert.equal(u.get('b.1')!.revision, 3);
  assert.equal(u.get('b.1')!.persist, true);
  assert.equal(u.revision, 4, 'the counter continues from the saved one');
  assert.equal(u.set('n', new Uint8Array(0), {}, me).revision, 5);
});

// ---------------------------------------------------------------------------------------------
// Over the broker

function makeBroker(options: BrokerOptions = {}): Broker {
  return new Broker({ schedule: (fn) => queueMicrotask(fn), ...options });
}

let cid = 0;
async function call(
  p: MemPeer,
  op: string,
  args: Record<string, unknown>,
): Promise<{
  ok: boolean;
  result: unknown;
  code?: string | undefined;
  message?: string | undefined;
}> {
  p.reset();
  p.send(encodeCall(++cid, op, args));
  await tick();
  const r = p.callReplies();
  assert.equal(r.length, 1, `one CALL_REPLY to ${op}`);
  return r[0]!;
}

function stateMsg(m: MsgFields): string {
  const h = m.headers ?? {};
  return `${m.subject} ${h['op']} rev=${h['rev']}${h['prev'] === undefined ? '' : ` prev=${h['prev']}`} ${text(m.data)}`;
}

void test('state.set/get/delete/keys over CALL; errors are CALL_REPLY codes naming the op and key', async () => {
  const broker = makeBroker();
  const a = await helloPeer(broker);
  assert.deepEqual((await call(a, 'state.set', { key: 'vol', value: enc.encode('0.2') })).result, {
    revision: 1,
    prev: 0,
  });
  // Text values are stored as their UTF-8 bytes.
  await call(a, 'state.set', { key: 'name', value: 'hé', type: 7, persist: true });
  const got = await call(a, 'state.get', { key: 'name' });
  assert.deepEqual(got.result, {
    key: 'name',
    value: enc.encode('hé'),
    revision: 2,
    type: 7,
    persist: true,
  });
  const miss = await call(a, 'state.get', { key: 'nope' });
  assert.deepEqual(
    [miss.ok, miss.code, miss.message],
    [false, 'BUS_ERR_NOT_FOUND', 'state.get nope: no such key'],
  );
  const stale = await call(a, 'state.set', { key: 'vol', value: enc.encode('x'), ifRevision: 7 });
  assert.deepEqual(
    [stale.code, stale.message],
    ['BUS_ERR_CONFLICT', 'state.set vol: revision conflict: its revision is 1, expected 7'],
  );
  const badArg = await call(a, 'state.set', { key: 'vol', value: 5 });
  assert.deepEqual(
    [badArg.code, badArg.message],
    ['BUS_ERR_PROTOCOL', 'state.set vol: value must be a byte string (or a text string)'],
  );
  const badKey = await call(a, 'state.get', { key: '$x' });
  assert.equal(badKey.code, 'BUS_ERR_BAD_SUBJECT');
  assert.equal((await call(a, 'state.nope', {})).code, 'BUS_ERR_UNKNOWN_OP');
  assert.deepEqual((await call(a, 'state.keys', { limit: 1 })).result, {
    keys: [{ key: 'name', size: 3, revision: 2, type: 7, persist: true }],
    total: 2,
    next: 'name',
  });
  assert.deepEqual((await call(a, 'state.delete', { key: 'vol' })).result, {
    revision: 3,
    prev: 1,
  });
  assert.equal(broker.status().totals.stateKeys, 1);
  assert.equal(broker.status().totals.stateBytes, 7);
  assert.equal(broker.status().totals.stateRevision, 3);
  assert.equal(a.errors().length, 0, 'no ERROR frame: the connection goes on');
});

void test('a watch (SUB current) gets current values first, then sets and deletions with rev/prev', async () => {
  const broker = makeBroker();
  const a = await helloPeer(broker);
  const w = await helloPeer(broker);
  await call(a, 'state.set', { key: 'audio.vol', value: '0.2' });
  await call(a, 'state.set', { key: 'other', value: 'x' });
  w.send(encodeSub({ sid: 1, subject: '$STATE.audio.*', current: true }));
  await tick();
  assert.deepEqual(w.msgs().map(stateMsg), ['$STATE.audio.vol cur rev=1 0.2']);
  assert.equal(w.msgs()[0]!.from, a.id, 'a current value carries who set it');
  w.reset();
  await call(a, 'state.set', { key: 'audio.vol', value: '0.5' });
  await call(a, 'state.set', { key: 'other', value: 'y' });
  await call(a, 'state.delete', { key: 'audio.vol' });
  await call(a, 'state.set', { key: 'audio.vol', value: '0.7' });
  assert.deepEqual(w.msgs().map(stateMsg), [
    '$STATE.audio.vol set rev=3 prev=1 0.5',
    '$STATE.audio.vol del rev=5 prev=3 ',
    '$STATE.audio.vol set rev=6 prev=0 0.7',
  ]);
  // A plain subscriber sees the changes too, but no current values.
  const p = await helloPeer(broker);
  p.send(encodeSub({ sid: 9, subject: '$STATE.>' }));
  await tick();
  assert.equal(p.msgs().length, 0);
  await call(a, 'state.set', { key: 'other', value: 'z' });
  assert.deepEqual(p.msgs().map(stateMsg), ['$STATE.other set rev=7 prev=4 z']);
  // `>` and `*.>` see `$STATE` keys as well.
  const q = await helloPeer(broker);
  q.send(
    encodeSub({ sid: 1, subject: '>', current: true }),
    encodeSub({ sid: 2, subject: '*.other', current: true }),
  );
  await tick();
  assert.deepEqual(
    q
      .msgs()
      .map((m) => `${m.sid} ${m.subject}`)
      .sort(),
    ['1 $STATE.audio.vol', '1 $STATE.other', '2 $STATE.other'],
  );
});

void test('clients cannot publish on $STATE subjects (BUS_ERR_PERMISSION)', async () => {
  const broker = makeBroker();
  const a = await helloPeer(broker);
  a.send(encodePub('$STATE.vol', enc.encode('forged')));
  await tick();
  const e = a.errors();
  assert.equal(e.length, 1);
  assert.equal(e[0]!.code, ErrorCode.PERMISSION);
  assert.equal(e[0]!.fatal, false);
});

void test('a snapshot larger than the queue bound is cut at the bound and reported with a GAP', async () => {
  const broker = makeBroker({ maxQueueBytes: 4096, maxQueueMsgs: 1000 });
  const a = await helloPeer(broker);
  for (let i = 0; i < 40; i++)
    await call(a, 'state.set', { key: `k.${i}`, value: new Uint8Array(1000) });
  const w = await helloPeer(broker);
  w.writeResult = false; // a socket that takes nothing: everything stays queued
  w.send(encodeSub({ sid: 1, subject: '$STATE.k.*', current: true, onSlow: 'drop-newest' }));
  await tick();
  w.writeResult = true;
  w.events.drain();
  await tick();
  const got = w.msgs().length;
  const gaps = w.gaps();
  assert.ok(got > 0 && got < 40, `some values queued, not all (${got})`);
  assert.equal(gaps.length, 1);
  assert.equal(gaps[0]!.lost, 40 - got, 'every value not delivered is counted in the GAP');
});
