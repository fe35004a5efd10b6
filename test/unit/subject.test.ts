// Tests the subject rules: printable ASCII tokens, `*` and `>` as whole tokens, `>` last, 255 bytes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_SUBJECT, subjectProblem } from '../../src/protocol/subject.js';

// [subject, valid as a publish subject, valid as a subscription pattern]
const table: [string, boolean, boolean][] = [
  ['a', true, true],
  ['a.b.c', true, true],
  ['demo.x', true, true],
  ['$SYS.connect', true, true],
  ['a-b_c:d/e', true, true],
  ['~!@#%^&()', true, true],
  ['*', false, true],
  ['>', false, true],
  ['a.*', false, true],
  ['*.b', false, true],
  ['a.*.c', false, true],
  ['a.>', false, true],
  ['*.>', false, true],
  ['a.*.>', false, true],
  ['', false, false],
  ['.', false, false],
  ['.a', false, false],
  ['a.', false, false],
  ['a..b', false, false],
  ['a b', false, false],
  ['a\tb', false, false],
  ['a\nb', false, false],
  ['caf\u00e9', false, false],
  ['a\u007f', false, false],
  ['a\u0000', false, false],
  ['a*', false, false],
  ['*a', false, false],
  ['a.b*', false, false],
  ['a.>b', false, false],
  ['a>', false, false],
  ['>.a', false, false],
  ['a.>.b', false, false],
  ['**', false, false],
  ['>>', false, false],
];

void test('valid/invalid table for publish subjects and patterns', () => {
  for (const [s, literal, pattern] of table) {
    assert.equal(subjectProblem(s, false) === null, literal, `publish ${JSON.stringify(s)}`);
    assert.equal(subjectProblem(s, true) === null, pattern, `pattern ${JSON.stringify(s)}`);
    assert.equal(subjectProblem(s, false) === null, literal, `literal ${JSON.stringify(s)}`);
  }
});

void test('length limit is 255 bytes', () => {
  assert.equal(MAX_SUBJECT, 255);
  const ok = 'a'.repeat(255);
  const long = 'a'.repeat(256);
  assert.equal(subjectProblem(ok, false), null);
  assert.match(subjectProblem(long, false) ?? '', /longer than 255/);
  assert.match(subjectProblem(long, true) ?? '', /longer than 255/);
  const tokens = Array.from({ length: 128 }, () => 'a').join('.'); // 255 chars
  assert.equal(tokens.length, 255);
  assert.equal(subjectProblem(tokens, false), null);
});

void test('problems name the rule that was broken', () => {
  assert.equal(subjectProblem('', true), 'subject is empty');
  assert.match(subjectProblem('a..b', true)!, /empty token/);
  assert.match(subjectProblem('a.*', false)!, /wildcard/);
  assert.match(subjectProblem('a.>.b', true)!, /must be the last token/);
  assert.match(subjectProblem('a*', true)!, /whole tokens/);
  assert.match(subjectProblem('a b', true)!, /contains a space/);
  assert.match(subjectProblem('a\u00e9', true)!, /outside printable ASCII \(U\+00E9\)/);
});
