// Tests the unsigned LEB128 varint codec: sizes, exact bytes, round trips at the group boundaries.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readVarint, varintSize, writeVarint } from '../../src/protocol/varint.js';

const boundaries: [number, number][] = [
  [0, 1],
  [1, 1],
  [127, 1],
  [128, 2],
  [16383, 2],
  [16384, 3],
  [2 ** 21 - 1, 3],
  [2 ** 21, 4],
  [2 ** 28 - 1, 4],
  [2 ** 28, 5],
  [2 ** 32, 5],
  [2 ** 35 - 1, 5],
  [2 ** 35, 6],
  [2 ** 53 - 1, 8],
];

void test('varintSize at every group boundary', () => {
  for (const [n, size] of boundaries) assert.equal(varintSize(n), size, `varintSize(${n})`);
});

void test('round trip at the boundaries, writing exactly varintSize bytes', () => {
  for (const [n, size] of boundaries) {
    const buf = new Uint8Array(12).fill(0xee);
    const end = writeVarint(buf, 2, n);
    assert.equal(end, 2 + size, `end offset for ${n}`);
    assert.equal(buf[end], 0xee, `no write past the varint for ${n}`);
    const out = { next: -1 };
    assert.equal(readVarint(buf, 2, out), n, `value ${n}`);
    assert.equal(out.next, end, `next for ${n}`);
  }
});

void test('known encodings (least significant group first)', () => {
  const enc = (n: number): number[] => {
    const b = new Uint8Array(varintSize(n));
    writeVarint(b, 0, n);
    return [...b];
  };
  assert.deepEqual(enc(0), [0x00]);
  assert.deepEqual(enc(127), [0x7f]);
  assert.deepEqual(enc(128), [0x80, 0x01]);
  assert.deepEqual(enc(300), [0xac, 0x02]);
  assert.deepEqual(enc(16384), [0x80, 0x80, 0x01]);
  assert.deepEqual(enc(2 ** 32), [0x80, 0x80, 0x80, 0x80, 0x10]);
  assert.deepEqual(enc(2 ** 53 - 1), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]);
});

void test('readVarint returns -1 when the buffer ends inside the varint', () => {
  const out = { next: 99 };
  assert.equal(readVarint(Uint8Array.from([0x80, 0x80]), 0, out), -1);
  assert.equal(readVarint(new Uint8Array(0), 0, out), -1);
  assert.equal(out.next, 99, 'next untouched on a truncated varint');
});

void test('readVarint reports more than 8 bytes as MAX_SAFE_INTEGER', () => {
  const out = { next: 0 };
  const nine = Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
  assert.equal(readVarint(nine, 0, out), Number.MAX_SAFE_INTEGER);
  assert.equal(out.next, 8);
});

void test('round trip of every value around powers of two up to 2^53', () => {
  for (let e = 0; e <= 53; e++) {
    for (const n of [2 ** e - 1, 2 ** e, 2 ** e + 1]) {
      if (n > Number.MAX_SAFE_INTEGER) continue;
      const buf = new Uint8Array(varintSize(n));
      assert.equal(writeVarint(buf, 0, n), buf.length);
      assert.equal(readVarint(buf, 0, { next: 0 }), n);
    }
  }
});
