// `udsbus del`: deletes a shared-state value (watchers see the deletion). Imports client/,
// util/ and the CLI helpers.

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

const options = {
  ...SOCKET_OPTION,
  'if-revision': {
    type: 'string',
    short: 'r',
    arg: 'N',
    help: 'delete only if the key is still at revision N',
  },
  json: { type: 'boolean', help: 'print {"key","revision","prev"} as JSON' },
  ...HELP_OPTION,
} as const satisfies OptionSpecs;

async function run(argv: readonly string[], ctx: Context): Promise<number> {
  const { values, positionals } = parseOptions(argv, options);
  if (positionals.length !== 1) throw new UsageError('del takes one KEY');
  const key = checkKey(positionals[0]!, false);
  const ifRevision = intOption(values['if-revision'], '--if-revision');
  const client = await open(values.socket, 'udsbus del');
  try {
    const r = await client.delete(key, ifRevision === undefined ? {} : { ifRevision });
    if (values.json === true) ctx.out.line(terminalJson({ key, ...r }));
  } finally {
    await client.close({ drainTimeoutMs: 0 });
  }
  return 0;
}

export const del: Command = {
  name: 'del',
  aliases: ['delete'],
  usage: 'KEY [options]',
  summary: 'delete a shared-state value',
  help: `Deletes KEY. A KEY without a value fails with BUS_ERR_NOT_FOUND (exit status 1); with
--if-revision N a KEY at another revision fails with BUS_ERR_CONFLICT.`,
  options,
  run,
};
