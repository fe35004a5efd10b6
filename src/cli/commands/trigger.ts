// `udsbus trigger`: the daemon publishes DATA on event.EVENT.

import { parseOptions, UsageError, type OptionSpecs } from '../../util/args.js';
import {
  checkSubject,
  SOCKET_OPTION,
  HELP_OPTION,
  open,
  type Command,
  type Context,
} from '../command.js';
import { terminalJson } from '../format.js';

const options = {
  ...SOCKET_OPTION,
  json: { type: 'boolean', help: 'print the result as JSON' },
  ...HELP_OPTION,
} as const satisfies OptionSpecs;

async function run(argv: readonly string[], ctx: Context): Promise<number> {
  const { values, positionals } = parseOptions(argv, options);
  if (positionals.length < 1 || positionals.length > 2)
    throw new UsageError('trigger takes EVENT and optional DATA');
  const event = positionals[0]!;
  checkSubject(`event.${event}`, false);
  const client = await open(values.socket, 'udsbus trigger');
  try {
    const r = await client.trigger(event, positionals[1]);
    ctx.out.line(
      values.json === true
        ? terminalJson(r)
        : `${r.subject}: ${r.receivers} ${r.receivers === 1 ? 'receiver' : 'receivers'}`,
    );
  } finally {
    await client.close();
  }
  return 0;
}

export const trigger: Command = {
  name: 'trigger',
  usage: 'EVENT [DATA] [options]',
  summary: 'have the daemon publish DATA on event.EVENT',
  help: `Raises a named event: the daemon publishes DATA (default empty) on event.EVENT, as the
daemon, with headers client (this client's id) and uid. Prints how many subscriptions got it.`,
  options,
  run,
};
