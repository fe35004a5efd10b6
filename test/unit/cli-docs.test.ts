// The CLI tables in README.md and docs/OPERATIONS.md are generated from the commands' option
// specs (the source of --help): this fails when someone edits one without the other.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

void test('README.md and docs/OPERATIONS.md CLI tables match the commands help (gen-cli-docs --check)', () => {
  const r = spawnSync(process.execPath, ['scripts/gen-cli-docs.mjs', '--check'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
});
