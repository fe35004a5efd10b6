// The record splitter of event sources: line, fixed:N and lp framing over any chunking, the
// record limit, and stopping between records (a paused source) to go on later.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  FramingError,
  RecordSplitter,
  parseFraming,
  type Framing,
} from '../../src/daemon/sources/framing.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Splits `data` cut into chunks of `size` bytes; returns the records as strings. */
function split(framing: Framing, data: Uint8Array, size: number, max = 1024): string[] {
  const s = new RecordSplitter(framing, max);
  const out: string[] = [];
  for (let i = 0; i < data.length; i += size) {
    s.push(data.subarray(i, i + size));
    s.run((r) => {
      out.push(dec(r));
      return true;
    });
    assert.equal(s.holding, false);
  }
  return out;
}

void test('parseFraming accepts line, lp and fixed:N and explains anything else', () => {
  assert.deepEqual(parseFraming('line'), { kind: 'line' });
  assert.deepEqual(parseFraming('lp'), { kind: 'lp' });
  assert.deepEqual(parseFraming('fixed:24'), { kind: 'fixed', size: 24 });
  assert.match(parseFraming('fixed:0') as string, /fixed:N with N from 1 to 65536/);
  assert.match(parseFraming('csv') as string, /got "csv"/);
});

void test('line framing gives the same records for every chunking', () => {
  const data = enc('k1\nk2\n\nlonger line here\nlast\n');
  for (const size of [1, 2, 3, 7, 100]) {
    assert.deepEqual(split({ kind: 'line' }, data, size), [
      'k1',
      'k2',
      '',
      'longer line here',
      'last',
    ]);
  }
});

void test('line framing drops a line longer than the limit, and counts it', () => {
  const s = new RecordSplitter({ kind: 'line' }, 4);
  const out: string[] = [];
  for (const chunk of ['ab\nabcdefgh', 'ijk\ncd\n', 'toolong\nok\n']) {
    s.push(enc(chunk));
    s.run((r) => (out.push(dec(r)), true));
  }
  assert.deepEqual(out, ['ab', 'cd', 'ok']);
  assert.equal(s.oversized, 2);
});

void test('fixed:24 framing cuts input_event-sized records across chunk borders', () => {
  const data = new Uint8Array(24 * 5).map((_, i) => i % 251);
  for (const size of [1, 5, 24, 25, 1000]) {
    const s = new RecordSplitter({ kind: 'fixed', size: 24 }, 1024);
    const records: number[][] = [];
    for (let i = 0; i < data.length; i += size) {
      s.push(data.subarray(i, i + size));
      s.run((r) => (records.push([...r]), true));
    }
    assert.equal(records.length, 5);
    assert.deepEqual(records[3], [...data.subarray(72, 96)]);
  }
});

void test('lp framing reads LEB128 lengths, including empty records and long prefixes', () => {
  const body = 'x'.repeat(200);
  const data = new Uint8Array([2, 0x68, 0x69, 0, 0xc8, 0x01, ...enc(body)]);
  for (const size of [1, 2, 3, 300]) {
    assert.deepEqual(split({ kind: 'lp' }, data, size), ['hi', '', body]);
  }
  const s = new RecordSplitter({ kind: 'lp' }, 100);
  s.push(new Uint8Array([0xc8, 0x01]));
  assert.throws(() => s.run(() => true), FramingError);
});

void test('emit returning false stops between records; run goes on from there', () => {
  const s = new RecordSplitter({ kind: 'line' }, 1024);
  s.push(enc('a\nb\nc\n'));
  const out: string[] = [];
  s.run((r) => (out.push(dec(r)), false));
  assert.deepEqual(out, ['a']);
  assert.equal(s.holding, true);
  s.run((r) => (out.push(dec(r)), true));
  assert.deepEqual(out, ['a', 'b', 'c']);
  assert.equal(s.holding, false);
});
