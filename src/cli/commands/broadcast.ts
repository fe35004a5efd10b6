// `udsbus broadcast`: one message to every other connected client.

import { parseOptions, UsageError, type OptionSpecs } from '../../util/args.js';
import { SOCKET_OPTION, HELP_OPTION, type Command } from '../command.js';
import { sendOne } from '../direct.js';
import { EXTRAS_OPTIONS, PRIORITY_OPTION, publishOptions } from '../publish-options.js';

const options = {
  ...SOCKET_OPTION,
  ...PRIORITY_OPTION,
  ...EXTRAS_OPTIONS,
  ...HELP_OPTION,
} as const satisfies OptionSpecs;

export const broadcast: Command = {
  name: 'broadcast',
  usage: 'DATA [options]',
  summary: 'send a message to every other client',
  help: 'Sends DATA to every other connected client.',
  options,
  run(argv) {
    const { values, positionals } = parseOptions(argv, options);
    if (positionals.length !== 1) throw new UsageError('broadcast takes DATA');
    return sendOne(values.socket, 0, Buffer.from(positionals[0]!), publishOptions(values));
  },
};
