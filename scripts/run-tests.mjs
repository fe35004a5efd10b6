// Runs the node:test suites on the built JavaScript: `node scripts/run-tests.mjs [tier...]`.
// Tiers are folders under dist/test (unit, property, integration, e2e); default: all of them.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('../dist/test/', import.meta.url).pathname;
const tiers = process.argv.slice(2);
const chosen = tiers.length > 0 ? tiers : ['unit', 'property', 'integration', 'e2e'];

function collect(dir, out) {
  let names;
  try {
    names = readdirSync(dir).sort();
  } catch {
    return out;
  }
  for (const name of names) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) collect(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = chosen.flatMap((t) => collect(join(root, t), []));
if (files.length === 0) {
  console.error(`no test files found under ${root} for ${chosen.join(', ')}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
