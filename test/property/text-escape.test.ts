// Text mode's escapes: any payload survives escapeBytes -> unescapeLine, and an escaped line holds
// no newline, no control character and no bidirectional override.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { escapeBytes, unescapeLine } from '../../src/protocol/text-escape.js';

const enc = new TextEncoder();

void test('escapeBytes then unescapeLine gives back the same bytes, for bytes and for text', () => {
  const payload = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.string({ unit: 'binary', maxLength: 100 }).map((s) => enc.encode(s)),
  );
  fc.assert(
    fc.property(payload, (data) => {
      const line = escapeBytes(data);
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(line, /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u);
      const back = unescapeLine(enc.encode(line));
      assert.ok(back instanceof Uint8Array, String(back));
      assert.deepEqual([...back], [...data]);
    }),
    { seed: 42, numRuns: 500 },
  );
});

void test('readable text stays readable; the rest is escaped as documented', () => {
  assert.equal(escapeBytes(enc.encode('héllo wörld')), 'héllo wörld');
  assert.equal(escapeBytes(enc.encode('a\\b\nc\td\re')), 'a\\\\b\\nc\\td\\re');
  assert.equal(escapeBytes(Uint8Array.from([0x1b, 0x5b, 0x32, 0x4a])), '\\x1b[2J');
  assert.equal(escapeBytes(enc.encode('\u202e')), '\\xe2\\x80\\xae');
  assert.equal(escapeBytes(Uint8Array.from([0xff, 0x41])), '\\xffA');
  assert.deepEqual([...(unescapeLine(enc.encode('\\0\\x7F\\\\')) as Uint8Array)], [0, 0x7f, 0x5c]);
  assert.match(unescapeLine(enc.encode('\\q')) as string, /unknown escape \\q/);
  assert.match(unescapeLine(enc.encode('\\x4')) as string, /two hex digits/);
  assert.match(unescapeLine(enc.encode('end\\')) as string, /single backslash/);
});
