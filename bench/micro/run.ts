// `npm run bench:micro [-- --only NAME,...] [--json]`: the micro-benchmarks of the hot-path
// pieces (decoder, envelope copy, client receive, subject index, TX queue), median ns per op over 7 rounds.

import { parseArgs } from 'node:util';
import { clientMicros } from './client.js';
import { codecMicros } from './codec.js';
import { measure, table, type Micro } from './harness.js';
import { subjectMicros } from './subjects.js';
import { txQueueMicros } from './tx-queue.js';

const ALL: Micro[] = [...codecMicros, ...clientMicros, ...subjectMicros, ...txQueueMicros];

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help === true) {
  console.log(
    `usage: npm run bench:micro [-- --only SUBSTRING,... --json]\n\n${ALL.map((m) => `  ${m.name}: ${m.op}`).join('\n')}`,
  );
  process.exit(0);
}
const only = values.only?.split(',').filter((s) => s !== '');
const chosen = only === undefined ? ALL : ALL.filter((m) => only.some((o) => m.name.includes(o)));
if (chosen.length === 0) {
  console.error(`no micro-benchmark matches ${values.only ?? ''}`);
  process.exit(2);
}
const results = chosen.map((m) => {
  const r = measure(m);
  if (values.json !== true) console.error(`${m.name}: ${r.nsPerOp.toFixed(1)} ns/op`);
  return r;
});
console.log(
  values.json === true
    ? JSON.stringify({ node: process.version, results }, null, 2)
    : `\n${table(results)}`,
);
