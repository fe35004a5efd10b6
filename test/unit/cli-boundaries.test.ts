// The CLI's import allow-list in eslint.config.js holds: src/cli may import node:*, itself,
// client/, protocol/ and util/ — not the broker, transport or daemon — and no file in src/ may
// use a dynamic import(). Lints fixture text with the project's own boundary rules.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BOUNDARY_RULES = ['no-restricted-imports', 'no-restricted-syntax'];

async function boundaryLinter(): Promise<ESLint> {
  const mod = (await import(pathToFileURL(join(ROOT, 'eslint.config.js')).href)) as {
    default: Linter.Config[];
  };
  // Only the boundary blocks, without type information (fixtures are not in the project).
  const blocks = mod.default
    .filter((c) => c.files !== undefined && BOUNDARY_RULES.some((r) => c.rules?.[r] !== undefined))
    .map((c) => ({
      files: c.files!,
      rules: Object.fromEntries(
        BOUNDARY_RULES.filter((r) => c.rules?.[r] !== undefined).map((r) => [r, c.rules![r]!]),
      ),
    }));
  return new ESLint({
    cwd: ROOT,
    overrideConfigFile: true,
    overrideConfig: [
      { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } },
      ...blocks,
    ],
  });
}

async function problems(eslint: ESLint, file: string, code: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, { filePath: join(ROOT, file) });
  return r!.messages.map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

void test('src/cli may not import the broker, transport or daemon, nor use dynamic import()', async () => {
  const eslint = await boundaryLinter();
  const bad: [string, string][] = [
    ['src/cli/fixture.ts', "import { Broker } from '../broker/broker.js';"],
    ['src/cli/fixture.ts', "import { daemonMain } from '../daemon/main.js';"],
    ['src/cli/fixture.ts', "import { listenUnix } from '../transport/unix-server.js';"],
    ['src/cli/commands/fixture.ts', "import { Broker } from '../../broker/index.js';"],
    ['src/cli/commands/fixture.ts', "import { startDaemon } from '../../daemon/daemon.js';"],
    ['src/cli/commands/fixture.ts', "import { x } from '../../transport/socket-path.js';"],
    ['src/cli/fixture.ts', "export const m = await import('../daemon/main.js');"],
    ['src/util/fixture.ts', "import { connect } from '../client/index.js';"],
  ];
  for (const [file, code] of bad) {
    const p = await problems(eslint, file, code);
    assert.ok(p.length > 0, `${file}: ${code} should be refused`);
    assert.ok(
      p.every((m) => m.startsWith('no-restricted-')),
      p.join('\n'),
    );
  }
  const good: [string, string][] = [
    [
      'src/cli/fixture.ts',
      "import { connect } from '../client/index.js';\nimport { readFile } from 'node:fs';",
    ],
    [
      'src/cli/fixture.ts',
      "import { Op } from '../protocol/constants.js';\nimport { x } from './command.js';",
    ],
    [
      'src/cli/commands/fixture.ts',
      "import { x } from '../command.js';\nimport { y } from '../../util/args.js';",
    ],
  ];
  for (const [file, code] of good) assert.deepEqual(await problems(eslint, file, code), [], code);
});
