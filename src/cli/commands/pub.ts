// `udsbus pub`: publishes DATA, a file, all of stdin as one message, or each stdin line.

import { BusError, ErrorCode, type Client } from '../../client/index.js';
import { parseOptions, UsageError, type OptionSpecs } from '../../util/args.js';
import {
  checkSubject,
  SOCKET_OPTION,
  HELP_OPTION,
  open,
  type Command,
  type Context,
} from '../command.js';
import { lines, readAll, readBodyFile } from '../input.js';
import { EXTRAS_OPTIONS, PRIORITY_OPTION, publishOptions } from '../publish-options.js';

const options = {
  ...SOCKET_OPTION,
  ...PRIORITY_OPTION,
  ...EXTRAS_OPTIONS,
  file: { type: 'string', short: 'f', arg: 'FILE', help: 'send the file as one message' },
  'stdin-whole': {
    type: 'boolean',
    short: 'S',
    help: 'send all of stdin as one message (default without DATA: one message per line)',
  },
  ...HELP_OPTION,
} as const satisfies OptionSpecs;

function drain(client: Client): Promise<void> {
  return new Promise((resolve) => client.once('drain', resolve));
}

async function run(argv: readonly string[], ctx: Context): Promise<number> {
  const { values, positionals } = parseOptions(argv, options);
  if (positionals.length < 1 || positionals.length > 2)
    throw new UsageError('pub takes SUBJECT and optional DATA');
  const subject = checkSubject(positionals[0]!, false);
  const data = positionals[1];
  const sources = [data !== undefined, values.file !== undefined, values['stdin-whole'] === true];
  if (sources.filter(Boolean).length > 1)
    throw new UsageError('give only one of DATA, --file or --stdin-whole');
  const opts = publishOptions(values);
  const body =
    data !== undefined
      ? Buffer.from(data)
      : values.file !== undefined
        ? await readBodyFile(values.file)
        : undefined;
  const client = await open(values.socket, 'udsbus pub');
  try {
    if (body !== undefined) client.publish(subject, body, opts);
    else if (values['stdin-whole'] === true)
      client.publish(subject, await readAll(ctx.stdin), opts);
    else {
      for await (const line of lines(ctx.stdin)) {
        if (!client.publish(subject, line, opts)) await drain(client);
      }
    }
    await client.flush();
    const m = client.metrics();
    if (m.dropped + m.failed > 0)
      throw new BusError(
        ErrorCode.DISCONNECTED,
        `${m.dropped + m.failed} messages were not delivered to the daemon`,
      );
  } finally {
    await client.close();
  }
  return 0;
}

export const pub: Command = {
  name: 'pub',
  usage: 'SUBJECT [DATA] [options]',
  summary: 'publish DATA, a file (-f), all of stdin (-S), or each stdin line as one message',
  help: `Publishes DATA on SUBJECT. Without DATA: --file FILE sends the file as one message,
--stdin-whole sends all of stdin as one message, and otherwise every line of stdin (split on
\\n, bytes unchanged) is one message.`,
  options,
  run,
};
