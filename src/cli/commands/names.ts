// `udsbus names`: the service names on the bus, their owners and who waits in line.

import { parseOptions, UsageError, type OptionSpecs } from '../../util/args.js';
import { SOCKET_OPTION, HELP_OPTION, open, type Command, type Context } from '../command.js';
import { escapeText, terminalJson } from '../format.js';

const options = {
  ...SOCKET_OPTION,
  json: { type: 'boolean', help: 'print the names as JSON' },
  ...HELP_OPTION,
} as const satisfies OptionSpecs;

async function run(argv: readonly string[], ctx: Context): Promise<number> {
  const { values, positionals } = parseOptions(argv, options);
  if (positionals.length > 0) throw new UsageError('names takes no arguments');
  const client = await open(values.socket, 'udsbus names');
  try {
    const names = await client.names();
    if (values.json === true) {
      ctx.out.line(terminalJson(names));
      return 0;
    }
    if (names.length === 0) {
      ctx.out.line('no service names');
      return 0;
    }
    const rows = [
      ['NAME', 'OWNER', 'CLIENT', 'WAITING'],
      ...names.map((n) => [
        n.name,
        String(n.owner),
        n.ownerName === '' ? '-' : escapeText(n.ownerName),
        n.queue.length === 0 ? '-' : n.queue.join(','),
      ]),
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows)
      ctx.out.line(
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      );
    return 0;
  } finally {
    await client.close();
  }
}

export const names: Command = {
  name: 'names',
  usage: '[options]',
  summary: 'list the service names, their owners and who waits for them',
  help: "Lists every service name claimed on the bus (`udsbus claim`, `Client.claim`): the owner's client id and name, and the ids of the clients waiting in line.",
  options,
  run,
};
