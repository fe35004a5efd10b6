// Tests the per-connection TxQueue: priority order then FIFO, byte/length accounting, take() splitting, dropOldest, clear.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { Op } from '../../src/protocol/constants.js';
import { frame } from '../../src/protocol/control-frames.js';
import { varintSize } from '../../src/protocol/varint.js';
import { msgFrameSize } from '../../src/protocol/delivery-frames.js';
import { ENTRY_OVERHEAD, TxQueue, WHOLE_FRAME } from '../../src/broker/tx-queue.js';

/** A tiny "envelope" whose first byte identifies it. */
const env = (tag: number, len = 4): Uint8Array => new Uint8Array(len).fill(tag);

/** Decodes what take() returned into [sid, firstByteOfEnvelope] for MSG and ['F', op] for frames. */
function decodeTaken(buf: Uint8Array): (string | number)[][] {
  const out: (string | number)[][] = [];
  new FrameDecoder(1 << 20).push(buf, (b) => {
    if (b[0] === Op.MSG) out.push([b[1]!, b[2]!]);
    else out.push(['F', b[0]!]);
  });
  return out;
}

void test('take writes a whole frame as it is and a MSG entry with length, op and sid', () => {
  const q = new TxQueue();
  q.push(0, WHOLE_FRAME, new Uint8Array(10), 0);
  assert.equal(q.take(1 << 20)!.length, 10);
  q.push(0, 1, new Uint8Array(10), 1);
  assert.equal(q.take(1 << 20)!.length, 1 + 1 + 1 + 10);
  q.push(0, 300, new Uint8Array(200), 2);
  const big = q.take(1 << 20)!;
  assert.equal(big.length, varintSize(1 + 2 + 200) + 1 + 2 + 200);
  assert.equal(big.length, msgFrameSize(300, 200));
});

void test('higher priority first, FIFO within a priority', () => {
  const q = new TxQueue();
  q.push(0, 1, env(0xa0), 1);
  q.push(5, 1, env(0xb0), 2);
  q.push(0, 1, env(0xa1), 3);
  q.push(255, WHOLE_FRAME, frame(Uint8Array.from([Op.ERROR])), 0);
  q.push(5, 2, env(0xb1), 4);
  q.push(1, 1, env(0xc0), 5);
  const all = q.take(1 << 20)!;
  assert.deepEqual(decodeTaken(all), [
    ['F', Op.ERROR],
    [1, 0xb0],
    [2, 0xb1],
    [1, 0xc0],
    [1, 0xa0],
    [1, 0xa1],
  ]);
  assert.equal(q.length, 0);
  assert.equal(q.bytes, 0);
  assert.equal(q.take(100), null);
});

void test('bytes count each buffer plus ENTRY_OVERHEAD (an upper bound of the wire size); take returns the exact wire bytes', () => {
  const q = new TxQueue();
  const f = frame(Uint8Array.from([Op.PONG]));
  q.push(0, 3, env(1, 100), 1);
  q.push(0, WHOLE_FRAME, f, 0);
  q.push(7, 200, env(2, 10), 2);
  const accounted = 100 + f.length + 10 + 3 * ENTRY_OVERHEAD;
  const wire = msgFrameSize(3, 100) + f.length + msgFrameSize(200, 10);
  assert.equal(q.length, 3);
  assert.equal(q.bytes, accounted);
  assert.ok(accounted >= wire);
  const taken = q.take(1 << 20)!;
  assert.equal(taken.length, wire, 'take returns exactly the wire bytes');
  assert.equal(q.bytes, 0);
  assert.equal(q.length, 0);
});

void test('take(maxBytes) splits between entries and always returns at least one', () => {
  const q = new TxQueue();
  for (let i = 0; i < 5; i++) q.push(0, 1, env(i, 10), i + 1); // each: 13 wire bytes, 22 accounted
  const first = q.take(2 * (10 + ENTRY_OVERHEAD) + 5)!;
  assert.equal(first.length, 26);
  assert.deepEqual(decodeTaken(first), [
    [1, 0],
    [1, 1],
  ]);
  assert.equal(q.length, 3);
  assert.equal(q.bytes, 3 * (10 + ENTRY_OVERHEAD));
  const one = q.take(1)!;
  assert.deepEqual(decodeTaken(one), [[1, 2]], 'one entry even when larger than maxBytes');
  assert.deepEqual(decodeTaken(q.take(1 << 20)!), [
    [1, 3],
    [1, 4],
  ]);
  assert.equal(q.bytes, 0);
});

void test('take across priority levels keeps the order and leaves the rest', () => {
  const q = new TxQueue();
  q.push(0, 1, env(0xa0, 10), 1);
  q.push(9, 1, env(0xb0, 10), 2);
  q.push(9, 1, env(0xb1, 10), 3);
  assert.deepEqual(decodeTaken(q.take((10 + ENTRY_OVERHEAD) * 2)!), [
    [1, 0xb0],
    [1, 0xb1],
  ]);
  q.push(9, 1, env(0xb2, 10), 4);
  assert.deepEqual(decodeTaken(q.take(1 << 20)!), [
    [1, 0xb2],
    [1, 0xa0],
  ]);
});

void test('dropOldest removes the oldest droppable MSG of the lowest priority, never whole frames or sid 0', () => {
  const q = new TxQueue();
  q.push(0, WHOLE_FRAME, frame(Uint8Array.from([Op.PONG])), 0);
  q.push(0, 0, env(0xd0), 10); // direct message: never dropped
  q.push(5, 1, env(0xb0), 11);
  q.push(0, 2, env(0xa2), 12); // sid 2 not droppable
  q.push(0, 1, env(0xa1), 13);
  q.push(0, 1, env(0xa3), 14);
  const bytesBefore = q.bytes;
  const d = q.dropOldest((sid) => sid === 1);
  assert.deepEqual(d, { sid: 1, id: 13 });
  assert.equal(q.length, 5);
  assert.equal(q.bytes, bytesBefore - env(0xa1).length - ENTRY_OVERHEAD);
  assert.deepEqual(
    q.dropOldest((sid) => sid === 1),
    { sid: 1, id: 14 },
  );
  assert.deepEqual(
    q.dropOldest((sid) => sid === 1),
    { sid: 1, id: 11 },
    'then the higher priority level',
  );
  assert.equal(
    q.dropOldest((sid) => sid === 1),
    null,
  );
  assert.deepEqual(decodeTaken(q.take(1 << 20)!), [
    ['F', Op.PONG],
    [0, 0xd0],
    [2, 0xa2],
  ]);
});

void test('dropOldest at the head of a level advances it', () => {
  const q = new TxQueue();
  q.push(0, 1, env(1), 1);
  q.push(0, 1, env(2), 2);
  assert.deepEqual(
    q.dropOldest(() => true),
    { sid: 1, id: 1 },
  );
  assert.deepEqual(decodeTaken(q.take(1 << 20)!), [[1, 2]]);
  assert.equal(q.length, 0);
});

void test('clear empties the queue and returns the MSG entries dropped', () => {
  const q = new TxQueue();
  q.push(0, WHOLE_FRAME, frame(Uint8Array.from([Op.PONG])), 0);
  q.push(0, 4, env(1), 21);
  q.push(3, 5, env(2), 22);
  q.push(0, 0, env(3), 23);
  q.take(env(2).length + ENTRY_OVERHEAD); // takes the priority-3 entry only
  const dropped = q.clear();
  assert.deepEqual(dropped, [{ sid: 4, id: 21 }]);
  assert.equal(q.length, 0);
  assert.equal(q.bytes, 0);
  assert.equal(q.take(100), null);
  q.push(1, 1, env(9), 30);
  assert.deepEqual(decodeTaken(q.take(100)!), [[1, 9]], 'usable after clear');
});

void test('the same envelope object can be queued for many sids (encode once)', () => {
  const q = new TxQueue();
  const shared = env(0x77, 8);
  for (let sid = 1; sid <= 3; sid++) q.push(0, sid, shared, 1);
  assert.deepEqual(decodeTaken(q.take(1 << 20)!), [
    [1, 0x77],
    [2, 0x77],
    [3, 0x77],
  ]);
});

void test('take(1) takes exactly one entry, the highest priority first, and leaves the rest', () => {
  const q = new TxQueue();
  assert.equal(q.take(1), null);
  q.push(0, 1, env(0xa0), 5);
  q.push(4, 2, env(0xb0), 6);
  assert.deepEqual(decodeTaken(q.take(1)!), [[2, 0xb0]]);
  assert.equal(q.length, 1);
  assert.deepEqual(decodeTaken(q.take(1)!), [[1, 0xa0]]);
  assert.equal(q.length, 0);
});

void test('take(max, minPriority) reaches past emptied high levels and never returns an empty chunk', () => {
  const q = new TxQueue();
  q.push(9, 1, env(0x90), 1);
  q.push(0, 1, env(0x00), 2);
  assert.deepEqual(decodeTaken(q.take(1 << 20, 1)!), [[1, 0x90]]); // level 9 is now empty
  assert.equal(q.take(1 << 20, 1), null, 'nothing of priority >= 1 left: null, not an empty chunk');
  q.push(5, 1, env(0x50), 3);
  assert.deepEqual(decodeTaken(q.take(1 << 20, 1)!), [[1, 0x50]], 'found below the empty level 9');
  assert.deepEqual(decodeTaken(q.take(1 << 20)!), [[1, 0x00]]);
  assert.equal(q.take(1 << 20), null);
});
