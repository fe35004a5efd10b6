// `udsbus get`: prints a shared-state value (its bytes and a newline), or with --json its key,
// value, revision, type and persist flag. Imports client/, util/ and the CLI helpers.

import { parseOptions, UsageError, type OptionSpecs } from '../../util/args.js';
import {
  checkKey,
  SOCKET_OPTION,
  HELP_OPTION,
  open,
  type Command,
  type Context,
} from '../command.js';
import { jsonData, payloadLine, terminalJson } from '../format.js';

const options = {
  ...SOCKET_OPTION,
  json: {
    type: 'boolean',
    help: 'print JSON: key, data (or data_base64), revision, type, persist',
  },
  ...HELP_OPTION,
} as const satisfies OptionSpecs;

async function run(argv: readonly string[], ctx: Context): Promise<number> {
  const { values, positionals } = parseOptions(argv, options);
  if (positionals.length !== 1) throw new UsageError('get takes one KEY');
  const key = checkKey(positionals[0]!, false);
  const client = await open(values.socket, 'udsbus get');
  try {
    const v = await client.get(key);
    if (values.json === true)
      ctx.out.line(
        terminalJson({
          key: v.key,
          ...jsonData(v.value),
          revision: v.revision,
          ...(v.type === undefined ? {} : { type: v.type }),
          persist: v.persist,
        }),
      );
    else ctx.out.write(payloadLine(v.value));
  } finally {
    await client.close({ drainTimeoutMs: 0 });
  }
  return 0;
}

export const get: Command = {
  name: 'get',
  usage: 'KEY [options]',
  summary: 'print a shared-state value',
  help: `Prints the value of KEY (its bytes, then a newline). A KEY without a value fails with
"state.get KEY: no such key" (BUS_ERR_NOT_FOUND) and exit status 1.`,
  options,
  run,
};
