// Tests the sans-IO FrameDecoder: chunking, limits checked before allocation, empty frames, failure latch.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode } from '../../src/protocol/errors.js';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { frame } from '../../src/protocol/control-frames.js';
import { isBusError } from '../helpers/mem-conn.js';

function decodeAll(dec: FrameDecoder, ...chunks: Uint8Array[]): number[][] {
  const out: number[][] = [];
  for (const c of chunks) dec.push(c, (b) => out.push([...b]));
  return out;
}

/** Node's own concatenation; a plain Uint8Array view of it. */
const concat = (parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

const bodies = [
  Uint8Array.from([1]),
  Uint8Array.from([2, 3, 4]),
  new Uint8Array(127).fill(5),
  new Uint8Array(128).fill(6),
  new Uint8Array(300).fill(7),
];
const stream = concat(bodies.map(frame));

void test('one frame in one chunk, body is a view of the chunk', () => {
  const chunk = frame(Uint8Array.from([9, 8, 7]));
  const views: Uint8Array[] = [];
  new FrameDecoder(1024).push(chunk, (b) => views.push(b));
  assert.equal(views.length, 1);
  assert.deepEqual([...views[0]!], [9, 8, 7]);
  assert.equal(views[0]!.buffer, chunk.buffer, 'fast path yields a subarray, no copy');
});

void test('many frames in one chunk, in order', () => {
  assert.deepEqual(
    decodeAll(new FrameDecoder(1024), stream),
    bodies.map((b) => [...b]),
  );
});

void test('the stream split at every byte boundary decodes the same', () => {
  const want = bodies.map((b) => [...b]);
  for (let i = 0; i <= stream.length; i++) {
    const dec = new FrameDecoder(1024);
    const got = decodeAll(dec, stream.subarray(0, i), stream.subarray(i));
    assert.deepEqual(got, want, `split at ${i}`);
    assert.equal(dec.pendingBytes, 0);
  }
});

void test('the stream fed one byte at a time decodes the same', () => {
  const dec = new FrameDecoder(1024);
  const got: number[][] = [];
  for (let i = 0; i < stream.length; i++)
    dec.push(stream.subarray(i, i + 1), (b) => got.push([...b]));
  assert.deepEqual(
    got,
    bodies.map((b) => [...b]),
  );
});

void test('pendingBytes counts a partial body', () => {
  const dec = new FrameDecoder(1024);
  const f = frame(new Uint8Array(200));
  dec.push(f.subarray(0, 50), () => assert.fail('no frame yet'));
  assert.equal(dec.pendingBytes, 48);
});

void test('a body of exactly maxFrame is accepted', () => {
  assert.equal(decodeAll(new FrameDecoder(300), frame(new Uint8Array(300)))[0]!.length, 300);
  assert.equal(decodeAll(new FrameDecoder(5), frame(new Uint8Array(5)))[0]!.length, 5);
});

void test('an oversized length fails with FRAME_TOO_LARGE before the body arrives (one-byte length)', () => {
  const dec = new FrameDecoder(10);
  assert.throws(
    () => dec.push(Uint8Array.from([11]), () => assert.fail()),
    (e) => isBusError(e, ErrorCode.FRAME_TOO_LARGE),
  );
});

void test('an oversized multi-byte length fails as soon as its known part exceeds the limit, without allocating', () => {
  // 2^31 announced by `80 80 80 80 08`; only the length bytes are ever sent.
  const dec = new FrameDecoder(1024 * 1024);
  const before = process.memoryUsage().arrayBuffers;
  assert.throws(
    () => dec.push(Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x08]), () => assert.fail()),
    (e) => isBusError(e, ErrorCode.FRAME_TOO_LARGE),
  );
  assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024, 'no 2 GiB buffer');
  assert.equal(dec.pendingBytes, 0);
});

void test('an unfinished varint that already exceeds the limit fails at once (split across chunks)', () => {
  const dec = new FrameDecoder(1000);
  dec.push(Uint8Array.from([0xff]), () => assert.fail()); // 127 so far: fine
  assert.throws(
    () => dec.push(Uint8Array.from([0x8f]), () => assert.fail()), // 127 + 15*128 > 1000, varint unfinished
    (e) => isBusError(e, ErrorCode.FRAME_TOO_LARGE),
  );
});

void test('a zero-length frame is BUS_ERR_PROTOCOL, also as a padded varint and after a good frame', () => {
  for (const bytes of [[0x00], [0x80, 0x00], [0x01, 0x05, 0x00]]) {
    const dec = new FrameDecoder(1024);
    const got: number[][] = [];
    assert.throws(
      () => dec.push(Uint8Array.from(bytes), (b) => got.push([...b])),
      (e) => isBusError(e, ErrorCode.PROTOCOL),
      JSON.stringify(bytes),
    );
    if (bytes.length === 3) assert.deepEqual(got, [[5]]);
  }
});

void test('the decoder refuses every push after a failure', () => {
  const dec = new FrameDecoder(4);
  assert.throws(
    () => dec.push(Uint8Array.from([5]), () => undefined),
    (e) => isBusError(e, ErrorCode.FRAME_TOO_LARGE),
  );
  assert.throws(
    () => dec.push(frame(Uint8Array.from([1])), () => assert.fail('no frame after failure')),
    (e) => isBusError(e, ErrorCode.PROTOCOL),
  );
  const dec2 = new FrameDecoder(4);
  assert.throws(
    () => dec2.push(Uint8Array.from([0]), () => undefined),
    (e) => isBusError(e, ErrorCode.PROTOCOL),
  );
  assert.throws(
    () => dec2.push(Uint8Array.from([1, 1]), () => undefined),
    (e) => isBusError(e, ErrorCode.PROTOCOL),
  );
});

void test('a body split across chunks is assembled into its own buffer', () => {
  const f = frame(Uint8Array.from([1, 2, 3, 4, 5, 6]));
  const a = f.slice(0, 3);
  const b = f.slice(3);
  const got: Uint8Array[] = [];
  const dec = new FrameDecoder(100);
  dec.push(a, (x) => got.push(x));
  a.fill(0); // the decoder must have copied what it keeps
  dec.push(b, (x) => got.push(x));
  assert.deepEqual([...got[0]!], [1, 2, 3, 4, 5, 6]);
});

void test('regression: a length padded with 150 0x80 bytes must not yield an empty frame', () => {
  const bytes = new Uint8Array(151).fill(0x80);
  bytes[150] = 0x05;
  const got: number[][] = [];
  assert.throws(
    () =>
      new FrameDecoder(1024).push(Uint8Array.from([...bytes, 1, 2, 3, 4, 5]), (b) =>
        got.push([...b]),
      ),
    (e) => isBusError(e, ErrorCode.FRAME_TOO_LARGE) || isBusError(e, ErrorCode.PROTOCOL),
  );
  assert.deepEqual(got, []);
});

void test('pushRanges reports the same frames as push, as places in the chunk or the assembled body', () => {
  const frames = [
    frame(Uint8Array.from([1, 2, 3])),
    frame(new Uint8Array(300).fill(9)),
    frame(Uint8Array.from([4])),
  ];
  const stream = Buffer.concat(frames);
  for (const cut of [1, 2, 5, 100, stream.length]) {
    const views: number[][] = [];
    const ranges: number[][] = [];
    const a = new FrameDecoder(1024);
    const b = new FrameDecoder(1024);
    for (let off = 0; off < stream.length; off += cut) {
      const chunk = stream.subarray(off, off + cut);
      a.push(chunk, (body) => views.push([...body]));
      b.pushRanges(chunk, (buf, start, end) => ranges.push([...buf.subarray(start, end)]));
    }
    assert.deepEqual(ranges, views, `chunks of ${cut}`);
    assert.equal(ranges.length, 3);
  }
});
