// `udsbus watch`: prints the current values of the keys matching a pattern, then every change
// and deletion (value lines, -v, or --json), pausing its socket while stdout is full.
// Imports client/, util/ and the CLI helpers.

import type { GapInfo, StateEvent } from '../../client/index.js';
import { intOption, parseOptions, UsageError, type OptionSpecs } from '../../util/args.js';
import {
  checkKey,
  COUNT_OPTION,
  SOCKET_OPTION,
  HELP_OPTION,
  note,
  openLong,
  type Command,
  type Context,
  finishLong,
} from '../command.js';
import { jsonData, payloadLine, terminalJson } from '../format.js';

const options = {
  ...SOCKET_OPTION,
  count: { ...COUNT_OPTION.count, help: 'exit after N events (current values count)' },
  verbose: {
    type: 'boolean',
    short: 'v',
    help: 'print KEY rev=N before each value ("deleted" for a deletion)',
  },
  json: {
    type: 'boolean',
    help: 'print JSON lines: key, data (or data_base64), revision, prev, deleted, current, type, from, uid, pid',
  },
  ...HELP_OPTION,
} as const satisfies OptionSpecs;

/** The JSON line of a state event. */
export function stateEventJson(ev: StateEvent): string {
  return terminalJson({
    key: ev.key,
    ...(ev.deleted ? {} : jsonData(ev.value)),
    revision: ev.revision,
    ...(ev.prev === undefined ? {} : { prev: ev.prev }),
    deleted: ev.deleted,
    current: ev.current,
    ...(ev.type === undefined ? {} : { type: ev.type }),
    from: ev.from,
    ...(ev.uid === undefined ? {} : { uid: ev.uid }),
    ...(ev.pid === undefined ? {} : { pid: ev.pid }),
  });
}

function verbose(ev: StateEvent): Uint8Array {
  const head = `${ev.key} rev=${ev.revision}`;
  return ev.deleted
    ? Buffer.from(`${head} deleted\n`)
    : Buffer.concat([Buffer.from(`${head} `), payloadLine(ev.value)]);
}

async function run(argv: readonly string[], ctx: Context): Promise<number> {
  const { values, positionals } = parseOptions(argv, options);
  if (positionals.length !== 1) throw new UsageError('watch takes one PATTERN');
  const pattern = checkKey(positionals[0]!, true);
  const count = intOption(values.count, '--count');
  if (values.json === true && values.verbose === true)
    throw new UsageError('give only one of --json and --verbose');
  const client = await openLong(
    values.socket,
    'udsbus watch',
    'reconnected; current values follow again',
  );
  const { out } = ctx;
  out.pauseWhileFull(client);
  let seen = 0;
  let finish = (): void => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const format =
    values.json === true
      ? (ev: StateEvent) => stateEventJson(ev) + '\n'
      : values.verbose === true
        ? verbose
        : (ev: StateEvent) => payloadLine(ev.deleted ? new Uint8Array(0) : ev.value);
  const w = client.watch(pattern, (ev) => {
    if (count !== undefined && seen >= count) return;
    seen++;
    out.write(format(ev));
    if (count !== undefined && seen >= count) finish();
  });
  w.on('gap', (g: GapInfo) => {
    if (g.reconnect) return;
    note(`gap: ${g.lost} state changes dropped on ${pattern} (ids ${g.firstId}..${g.lastId})`);
    if (values.json === true) out.line(JSON.stringify({ gap: g }));
  });
  await client.flush();
  note(`watching ${pattern}`);
  if (count === 0) finish();
  return finishLong(client, ctx, done, true);
}

export const watch: Command = {
  name: 'watch',
  usage: 'PATTERN [options]',
  summary: 'print the current values of matching keys, then every change',
  help: `Prints the value of each key matching PATTERN (* one token, > the rest) when the watch
starts, then each new value as it is set: one line each (the value bytes; an empty line for a
deletion), or with -v "KEY rev=N VALUE" / "KEY rev=N deleted", or with --json a JSON object
that also carries the revision, the revision it replaced (prev) and who set it. Once the watch
is active "udsbus: watching PATTERN" is printed on stderr.`,
  options,
  run,
};
