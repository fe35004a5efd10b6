// `udsbus echo`: the daemon sends DATA back (a round trip through the daemon).

import { parseOptions, UsageError, type OptionSpecs } from '../../util/args.js';
import { SOCKET_OPTION, HELP_OPTION, open, type Command, type Context } from '../command.js';
import { payloadLine } from '../format.js';

const options = { ...SOCKET_OPTION, ...HELP_OPTION } as const satisfies OptionSpecs;

async function run(argv: readonly string[], ctx: Context): Promise<number> {
  const { values, positionals } = parseOptions(argv, options);
  if (positionals.length !== 1) throw new UsageError('echo takes DATA');
  const client = await open(values.socket, 'udsbus echo');
  try {
    ctx.out.write(payloadLine(await client.echo(positionals[0]!)));
  } finally {
    await client.close();
  }
  return 0;
}

export const echo: Command = {
  name: 'echo',
  usage: 'DATA [options]',
  summary: 'have the daemon send DATA back',
  help: 'Sends DATA to the daemon, which answers it back; prints what came back. A quick check that the daemon answers.',
  options,
  run,
};
