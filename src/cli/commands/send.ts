// `udsbus send`: one direct message to one client id.

import { intOption, parseOptions, UsageError, type OptionSpecs } from '../../util/args.js';
import { SOCKET_OPTION, HELP_OPTION, type Command } from '../command.js';
import { sendOne } from '../direct.js';
import { EXTRAS_OPTIONS, PRIORITY_OPTION, publishOptions } from '../publish-options.js';

const options = {
  ...SOCKET_OPTION,
  ...PRIORITY_OPTION,
  ...EXTRAS_OPTIONS,
  ...HELP_OPTION,
} as const satisfies OptionSpecs;

export const send: Command = {
  name: 'send',
  usage: 'CLIENT_ID DATA [options]',
  summary: 'send a direct message to one client',
  help: 'Sends DATA directly to one client (see `udsbus status` or `udsbus listen` for ids).',
  options,
  run(argv) {
    const { values, positionals } = parseOptions(argv, options);
    if (positionals.length !== 2) throw new UsageError('send takes CLIENT_ID and DATA');
    const to = intOption(positionals[0], 'CLIENT_ID', 1, 0xffffffff)!;
    return sendOne(values.socket, to, Buffer.from(positionals[1]!), publishOptions(values));
  },
};
