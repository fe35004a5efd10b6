// `udsbus sub`: prints the messages on one or more subjects (payload lines, -v, or --json),
// pausing its socket while stdout is full so the daemon's slow-consumer policy applies.

import type { GapInfo, Msg } from '../../client/index.js';
import { SlowPolicy, type SlowPolicyValue } from '../../protocol/constants.js';
import { intOption, parseOptions, UsageError, type OptionSpecs } from '../../util/args.js';
import {
  checkQueue,
  checkSubject,
  COUNT_OPTION,
  SOCKET_OPTION,
  HELP_OPTION,
  note,
  openLong,
  type Command,
  type Context,
  finishLong,
} from '../command.js';
import { msgJson, payloadLine, verboseLine } from '../format.js';

const options = {
  ...SOCKET_OPTION,
  ...COUNT_OPTION,
  queue: {
    type: 'string',
    short: 'q',
    arg: 'GROUP',
    help: 'join queue group GROUP (each message goes to one member)',
  },
  verbose: {
    type: 'boolean',
    short: 'v',
    help: 'print the subject, type=N and headers K=V before each payload',
  },
  json: {
    type: 'boolean',
    help: 'print JSON lines: subject, data (or data_base64), from, uid, pid, id, priority, type, headers',
  },
  'on-slow': {
    type: 'string',
    arg: 'POLICY',
    help: 'what the daemon does when this subscriber falls behind: drop-oldest, drop-newest or disconnect',
    default: 'disconnect',
  },
  ...HELP_OPTION,
} as const satisfies OptionSpecs;

function slowPolicy(v: string | undefined): SlowPolicyValue | undefined {
  if (v === undefined) return undefined;
  if (!(SlowPolicy as readonly string[]).includes(v))
    throw new UsageError(`--on-slow must be ${SlowPolicy.join(', ')}; got ${JSON.stringify(v)}`);
  return v as SlowPolicyValue;
}

async function run(argv: readonly string[], ctx: Context): Promise<number> {
  const { values, positionals } = parseOptions(argv, options);
  if (positionals.length === 0) throw new UsageError('sub takes at least one SUBJECT');
  for (const s of positionals) checkSubject(s, true);
  const count = intOption(values.count, '--count');
  const queue = checkQueue(values.queue);
  const onSlow = slowPolicy(values['on-slow']);
  if (values.json === true && values.verbose === true)
    throw new UsageError('give only one of --json and --verbose');
  const client = await openLong(values.socket, 'udsbus sub', 'reconnected');
  const { out } = ctx;
  out.pauseWhileFull(client);
  let seen = 0;
  let finish = (): void => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const format =
    values.json === true
      ? (m: Msg) => msgJson(m) + '\n'
      : values.verbose === true
        ? verboseLine
        : (m: Msg) => payloadLine(m.data);
  const onMsg = (msg: Msg): void => {
    if (count !== undefined && seen >= count) return;
    seen++;
    out.write(format(msg));
    if (count !== undefined && seen >= count) finish();
  };
  const why = `slow consumer, ${onSlow ?? 'disconnect'}`;
  for (const subject of positionals) {
    const s = client.subscribe(subject, onMsg, {
      ...(queue === undefined ? {} : { queue }),
      ...(onSlow === undefined ? {} : { onSlow }),
    });
    s.on('gap', (g: GapInfo) => {
      note(
        g.reconnect
          ? `gap: reconnected; messages published on ${g.subject} while disconnected may be lost (how many is unknown)`
          : `gap: ${g.lost} messages dropped on ${g.subject} (ids ${g.firstId}..${g.lastId}; ${why})`,
      );
      if (values.json === true) out.line(JSON.stringify({ gap: g }));
    });
  }
  await client.flush();
  note(`subscribed to ${positionals.join(' ')}`);
  if (count === 0) finish();
  return finishLong(client, ctx, done, true);
}

export const sub: Command = {
  name: 'sub',
  usage: 'SUBJECT... [options]',
  summary: 'print messages on subjects (wildcards: * one token, > the rest)',
  help: `Prints each message on SUBJECT (one line each: the payload bytes; with -v the subject,
type and headers first; with --json a JSON object). Once the subscription is active,
"udsbus: subscribed to SUBJECT" is printed on stderr; messages the daemon dropped are
reported there as "udsbus: gap: N messages dropped on SUBJECT (...)". While stdout is full the
CLI stops reading its socket, so a slow reader is a slow consumer for the daemon (--on-slow).`,
  options,
  run,
};
