// The CLI's Output helper: a full stdout pauses the client's input until 'drain'; EPIPE ends the
// output quietly (writes are then dropped, nothing throws) and lets the input go.

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { Output } from '../../src/cli/output.js';

/** A stdout stand-in whose writes complete only when `release()` is called. */
function slowStream(): { stream: NodeJS.WriteStream; release: () => void; written: string[] } {
  const written: string[] = [];
  const pending: (() => void)[] = [];
  const stream = new Writable({
    highWaterMark: 16,
    write(chunk: Buffer, _enc, cb) {
      written.push(chunk.toString());
      pending.push(() => cb());
    },
  });
  return {
    stream: stream as unknown as NodeJS.WriteStream,
    release: () => {
      while (pending.length > 0) pending.shift()!();
    },
    written,
  };
}

void test('a full stdout pauses the input once; drain resumes it', async () => {
  const { stream, release, written } = slowStream();
  const out = new Output(stream);
  const calls: string[] = [];
  out.pauseWhileFull({
    pauseInput: () => calls.push('pause'),
    resumeInput: () => calls.push('resume'),
  });
  assert.equal(out.line('0123456789'), true);
  assert.equal(out.line('0123456789'), false); // past the 16-byte high-water mark
  assert.equal(out.line('more'), false);
  assert.deepEqual(calls, ['pause']);
  const flushed = out.flush();
  for (let i = 0; i < 5; i++) {
    release();
    await new Promise((r) => setImmediate(r));
  }
  await flushed;
  assert.deepEqual(calls, ['pause', 'resume']);
  assert.equal(written.join(''), '0123456789\n0123456789\nmore\n');
});

void test('EPIPE ends the output quietly: whenEnded resolves, the input is let go, writes are dropped', async () => {
  const { stream } = slowStream();
  const out = new Output(stream);
  const calls: string[] = [];
  out.pauseWhileFull({
    pauseInput: () => calls.push('pause'),
    resumeInput: () => calls.push('resume'),
  });
  out.line('x'.repeat(32));
  assert.deepEqual(calls, ['pause']);
  const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
  stream.emit('error', epipe);
  const ended = await out.whenEnded();
  assert.equal(ended.quiet, true);
  assert.deepEqual(calls, ['pause', 'resume']);
  assert.equal(out.line('after'), false);
  await out.flush(); // resolves at once once ended
  const eio = Object.assign(new Error('write EIO'), { code: 'EIO' });
  const s2 = slowStream();
  const o2 = new Output(s2.stream);
  s2.stream.emit('error', eio);
  assert.equal((await o2.whenEnded()).quiet, false);
});
