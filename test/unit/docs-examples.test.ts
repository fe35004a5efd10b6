// The examples in docs/API.md and README.md are plain JavaScript (```js, checked by node as ES
// modules); ```ts blocks hold only declarations (interfaces, types, signatures).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const ROOT = new URL('../../../', import.meta.url);

function blocks(file: string): { lang: string; code: string; line: number }[] {
  const text = readFileSync(new URL(file, ROOT), 'utf8');
  return [...text.matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)].map((m) => ({
    lang: m[1]!,
    code: m[2]!,
    line: text.slice(0, m.index).split('\n').length,
  }));
}

for (const file of ['docs/API.md', 'README.md']) {
  void test(`${file}: every js example parses as plain JavaScript; ts blocks are declarations`, () => {
    const all = blocks(file);
    assert.ok(
      all.some((b) => b.lang === 'js'),
      'has examples',
    );
    for (const b of all) {
      if (b.lang === 'js') {
        const r = spawnSync(process.execPath, ['--input-type=module', '--check'], {
          input: b.code,
          encoding: 'utf8',
        });
        assert.equal(r.status, 0, `${file}:${b.line}: ${r.stderr}`);
      } else if (b.lang === 'ts') {
        assert.match(
          b.code,
          /^\s*(interface |type |function \w+\(.*\):)/,
          `${file}:${b.line}: a ts block that is not a declaration; write examples as js`,
        );
      }
    }
  });
}
