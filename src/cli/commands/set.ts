// `udsbus set`: sets a shared-state value from VALUE, a file or all of stdin; prints nothing
// (the revision with --json). Imports client/, util/ and the CLI helpers.

import { intOption, parseOptions, UsageError, type OptionSpecs } from '../../util/args.js';
import {
  checkKey,
  SOCKET_OPTION,
  HELP_OPTION,
  open,
  type Command,
  type Context,
} from '../command.js';
import { terminalJson } from '../format.js';
import { readAll, readBodyFile } from '../input.js';

const options = {
  ...SOCKET_OPTION,
  'if-revision': {
    type: 'string',
    short: 'r',
    arg: 'N',
    help: 'compare-and-set: only if the key is still at revision N (0: only if it does not exist)',
  },
  persist: {
    type: 'boolean',
    short: 'p',
    help: "keep the value across daemon restarts (the daemon's state file)",
  },
  type: { type: 'string', short: 't', arg: 'N', help: 'application type of the value (uint32)' },
  file: { type: 'string', short: 'f', arg: 'FILE', help: 'the value is the contents of FILE' },
  json: { type: 'boolean', help: 'print {"key","revision","prev"} as JSON' },
  ...HELP_OPTION,
} as const satisfies OptionSpecs;

async function run(argv: readonly string[], ctx: Context): Promise<number> {
  const { values, positionals } = parseOptions(argv, options);
  if (positionals.length < 1 || positionals.length > 2)
    throw new UsageError('set takes KEY and optional VALUE');
  const key = checkKey(positionals[0]!, false);
  const data = positionals[1];
  if (data !== undefined && values.file !== undefined)
    throw new UsageError('give only one of VALUE and --file');
  const ifRevision = intOption(values['if-revision'], '--if-revision');
  const type = intOption(values.type, '--type', 0, 0xffffffff);
  const value =
    data !== undefined
      ? Buffer.from(data)
      : values.file !== undefined
        ? await readBodyFile(values.file)
        : await readAll(ctx.stdin);
  const client = await open(values.socket, 'udsbus set');
  try {
    const r = await client.set(key, value, {
      ...(ifRevision === undefined ? {} : { ifRevision }),
      ...(type === undefined ? {} : { type }),
      ...(values.persist === true ? { persist: true } : {}),
    });
    if (values.json === true) ctx.out.line(terminalJson({ key, ...r }));
  } finally {
    await client.close({ drainTimeoutMs: 0 });
  }
  return 0;
}

export const set: Command = {
  name: 'set',
  usage: 'KEY [VALUE] [options]',
  summary: 'set a shared-state value (retained; watchers see it)',
  help: `Sets KEY (dotted like a subject) to VALUE; without VALUE, to --file FILE or all of stdin
(bytes unchanged). Each change takes a new revision (see "udsbus get --json"); with
--if-revision N the value is set only if KEY is still at revision N, else it fails with
BUS_ERR_CONFLICT and exit status 1. --persist keeps the value across daemon restarts.`,
  options,
  run,
};
