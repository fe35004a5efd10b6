// `udsbus listen`: prints the direct and broadcast messages sent to this client.

import { Flag } from '../../protocol/constants.js';
import { intOption, parseOptions, UsageError, type OptionSpecs } from '../../util/args.js';
import {
  COUNT_OPTION,
  SOCKET_OPTION,
  HELP_OPTION,
  open,
  type Command,
  type Context,
  finishLong,
} from '../command.js';
import { msgJson, payloadLine } from '../format.js';

const options = {
  ...SOCKET_OPTION,
  ...COUNT_OPTION,
  json: {
    type: 'boolean',
    help: 'print JSON lines: data (or data_base64), from, uid, pid, id, priority, type, headers, broadcast',
  },
  ...HELP_OPTION,
} as const satisfies OptionSpecs;

async function run(argv: readonly string[], ctx: Context): Promise<number> {
  const { values, positionals } = parseOptions(argv, options);
  if (positionals.length > 0) throw new UsageError('listen takes no arguments');
  const count = intOption(values.count, '--count');
  const client = await open(values.socket, 'udsbus listen');
  process.stderr.write(`client id ${client.id}\n`);
  const { out } = ctx;
  out.pauseWhileFull(client);
  let seen = 0;
  let finish = (): void => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  client.onDirect((msg) => {
    if (count !== undefined && seen >= count) return;
    seen++;
    if (values.json === true)
      out.line(msgJson(msg, { broadcast: (msg.flags & Flag.BROADCAST) !== 0 }));
    else out.write(payloadLine(msg.data));
    if (count !== undefined && seen >= count) finish();
  });
  if (count === 0) finish();
  return finishLong(client, ctx, done, true);
}

export const listen: Command = {
  name: 'listen',
  usage: '[options]',
  summary: 'print direct and broadcast messages sent to this client',
  help: `Prints direct and broadcast messages sent to this client. The first stderr line is
"client id N": the id to pass to \`udsbus send\`.`,
  options,
  run,
};
