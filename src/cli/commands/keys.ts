// `udsbus keys`: lists the shared-state keys matching a pattern, sorted. Imports client/,
// util/ and the CLI helpers.

import { parseOptions, UsageError, type OptionSpecs } from '../../util/args.js';
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
  long: { type: 'boolean', short: 'l', help: 'print KEY REVISION SIZE [persist] per line' },
  json: {
    type: 'boolean',
    help: 'print one JSON line per key: key, size, revision, type, persist',
  },
  ...HELP_OPTION,
} as const satisfies OptionSpecs;

async function run(argv: readonly string[], ctx: Context): Promise<number> {
  const { values, positionals } = parseOptions(argv, options);
  if (positionals.length > 1) throw new UsageError('keys takes at most one PATTERN');
  const pattern = checkKey(positionals[0] ?? '>', true);
  const client = await open(values.socket, 'udsbus keys');
  try {
    for (const k of await client.keys(pattern)) {
      if (values.json === true) ctx.out.line(terminalJson(k));
      else if (values.long === true)
        ctx.out.line(`${k.key} ${k.revision} ${k.size}${k.persist ? ' persist' : ''}`);
      else ctx.out.line(k.key);
    }
  } finally {
    await client.close({ drainTimeoutMs: 0 });
  }
  return 0;
}

export const keys: Command = {
  name: 'keys',
  usage: '[PATTERN] [options]',
  summary: 'list shared-state keys (all, or those matching PATTERN)',
  help: `Lists the keys that have a value, sorted, one per line; PATTERN may use * (one token)
and > (the rest), default > (every key).`,
  options,
  run,
};
