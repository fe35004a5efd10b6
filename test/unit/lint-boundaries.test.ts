// The import allow-lists of src/ (scripts/eslint-boundaries.mjs) reject each wrong import the
// layering forbids, and pass the ones it allows: linted as if the code sat in that folder.

import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';

const root = fileURLToPath(new URL('../../../', import.meta.url));

async function lint(folder: string, code: string, top = 'src'): Promise<string[]> {
  const mod = (await import(new URL('scripts/eslint-boundaries.mjs', `file://${root}`).href)) as {
    boundaries: ESLint.Options['overrideConfig'][];
  };
  const eslint = new ESLint({
    cwd: root,
    overrideConfigFile: true,
    overrideConfig: [
      { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } },
      ...(mod.boundaries as never[]),
    ],
  });
  const [result] = await eslint.lintText(code, { filePath: `${root}${top}/${folder}/fixture.ts` });
  return result!.messages.map((m) => m.message);
}

const rejected: [string, string, RegExp][] = [
  [
    'cli',
    "import { Broker } from '../broker/broker.js';",
    /src\/cli\/ may not import src\/broker\//,
  ],
  [
    'cli',
    "import { runDaemon } from '../daemon/daemon.js';",
    /src\/cli\/ may not import src\/daemon\//,
  ],
  [
    'broker',
    "import { listenUnix } from '../transport/unix-server.js';",
    /may not import src\/transport\//,
  ],
  ['protocol', "import { connect } from 'node:net';", /src\/protocol\/ may not import node:net/],
  ['protocol', "import { connect } from 'net';", /may not import node:net/],
  ['broker', "import { setTimeout } from 'node:timers';", /may not import node:timers/],
  ['broker', "export { version } from '../util/version.js';", /may not import src\/util\//],
  ['client', "import { Broker } from '../broker/broker.js';", /may not import src\/broker\//],
  [
    'transport',
    "import type { Broker } from '../broker/broker.js';",
    /may not import src\/broker\//,
  ],
  ['protocol', "import x from '../../bench/run.js';", /outside src/],
  ['cli', "const m = await import('../client/index.js');", /no dynamic import/],
  [
    'cli/commands',
    "import { Broker } from '../../broker/index.js';",
    /src\/cli\/ may not import src\/broker\//,
  ],
  [
    'cli/commands',
    "import { daemonMain } from '../../daemon/main.js';",
    /src\/cli\/ may not import src\/daemon\//,
  ],
  [
    'cli',
    "import { listenUnix } from '../transport/unix-server.js';",
    /src\/cli\/ may not import src\/transport\//,
  ],
];

for (const [folder, code, why] of rejected) {
  void test(`src/${folder}: rejects ${code}`, async () => {
    const messages = await lint(folder, code);
    assert.equal(messages.length, 1, messages.join('; '));
    assert.match(messages[0]!, why);
  });
}

const allowed: [string, string][] = [
  ['cli', "import { connect } from '../client/index.js';\nimport { readFileSync } from 'node:fs';"],
  [
    'cli/commands',
    "import { x } from '../command.js';\nimport { y } from '../../util/args.js';\nimport { z } from '../../protocol/subject.js';",
  ],
  [
    'broker',
    "import { Op } from '../protocol/constants.js';\nimport { Session } from './session.js';",
  ],
  ['protocol', "import { decode } from 'cborg';"],
  [
    'daemon',
    "import { Broker } from '../broker/broker.js';\nimport { listenUnix } from '../transport/unix-server.js';",
  ],
  [
    'transport',
    "import { createServer } from 'node:net';\nimport { BusError } from '../protocol/errors.js';",
  ],
];

for (const [folder, code] of allowed) {
  void test(`src/${folder}: allows ${code.replace(/\n/g, ' ')}`, async () => {
    assert.deepEqual(await lint(folder, code), []);
  });
}

// examples/ use the library as a user would: the public client API and node: modules only.
const examplesRejected: [string, RegExp][] = [
  ["import { Broker } from '../../src/broker/index.js';", /examples\/ may not import/],
  ["import { Client } from '../../src/client/client.js';", /examples\/ may not import/],
  ["import { encodeCbor } from '../../src/protocol/cbor.js';", /examples\/ may not import/],
  ["import { connect } from 'udsbus';", /examples\/ may not import udsbus/],
  ["import { decode } from 'cborg';", /examples\/ may not import cborg/],
  ["import { x } from '../../test/helpers/processes.js';", /examples\/ may not import/],
  ["const m = await import('node:fs');", /no dynamic import\(\) in examples/],
];

for (const [code, why] of examplesRejected) {
  void test(`examples/: rejects ${code}`, async () => {
    const messages = await lint('demo', code, 'examples');
    assert.equal(messages.length, 1, messages.join('; '));
    assert.match(messages[0]!, why);
  });
}

void test('examples/: allows the client API, node: modules and examples/ files', async () => {
  const code = [
    "import { connect, EventBus } from '../../src/client/index.js';",
    "import { createServer } from 'node:http';",
    "import { readFileSync } from 'fs';",
    "import { helper } from './helper.js';",
    "import { other } from '../other/thing.js';",
  ].join('\n');
  assert.deepEqual(await lint('demo', code, 'examples'), []);
});
