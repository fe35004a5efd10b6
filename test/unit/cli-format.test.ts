// The CLI's escaping of client-supplied text: control characters, C1 (8-bit CSI), bidirectional
// overrides and lone surrogates never reach the terminal raw, in text or in JSON.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeText, terminalJson } from '../../src/cli/format.js';

const hostile = 'evil\u001b[2J\u009b31m\u202eabc\u2066\ud800\u007f\\';

void test('escapeText writes every dangerous character as an escape', () => {
  const out = escapeText(hostile);
  assert.equal(out, 'evil\\u001b[2J\\u009b31m\\u202eabc\\u2066\\ud800\\u007f\\\\');
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(out, /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u);
});

void test('terminalJson is valid JSON without raw C1 or bidi characters', () => {
  const out = terminalJson({ name: hostile }, 2);
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(out, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u);
  assert.deepEqual(JSON.parse(out), { name: hostile });
});
