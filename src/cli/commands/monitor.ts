// `udsbus monitor`: prints every publish, request, reply (with its latency), direct message and
// broadcast on matching subjects, with sender and receivers, without affecting delivery.

import type { GapInfo, Msg } from '../../client/index.js';
import { escapeBytes } from '../../protocol/text-escape.js';
import { intOption, parseOptions, UsageError, type OptionSpecs } from '../../util/args.js';
import {
  checkSubject,
  COUNT_OPTION,
  SOCKET_OPTION,
  HELP_OPTION,
  note,
  openLong,
  runUntil,
  type Command,
  type Context,
} from '../command.js';
import { jsonData, terminalJson } from '../format.js';

const options = {
  ...SOCKET_OPTION,
  ...COUNT_OPTION,
  json: {
    type: 'boolean',
    help: 'print JSON lines: kind, subject, from, uid, pid, to, req, status, latencyUs, type, headers, data (or data_base64)',
  },
  'max-bytes': {
    type: 'string',
    arg: 'N',
    help: 'show at most N payload bytes per line (the rest is counted)',
    default: '256',
  },
  ...HELP_OPTION,
} as const satisfies OptionSpecs;

const MON = 'mon-';

/** One monitored copy as a line of text or a JSON object. */
function describe(m: Msg, max: number, json: boolean): string {
  const h = m.headers ?? {};
  const own: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (!k.startsWith(MON)) own[k] = v;
  const kind = h['mon-kind'] ?? 'pub';
  const data = m.data.length > max ? m.data.subarray(0, max) : m.data;
  const more = m.data.length - data.length;
  if (json) {
    return terminalJson({
      kind,
      subject: m.subject,
      from: m.from,
      uid: m.uid ?? null,
      pid: m.pid ?? null,
      to: h['mon-to'],
      ...(h['mon-req'] === undefined ? {} : { req: Number(h['mon-req']) }),
      ...(h['mon-status'] === undefined ? {} : { status: h['mon-status'] }),
      ...(h['mon-latency-us'] === undefined ? {} : { latencyUs: Number(h['mon-latency-us']) }),
      ...(m.type === undefined ? {} : { type: m.type }),
      ...(Object.keys(own).length === 0 ? {} : { headers: own }),
      ...jsonData(data),
      ...(more > 0 ? { truncated: more } : {}),
    });
  }
  let line = `${kind} ${m.subject === '' ? '-' : m.subject} from=${m.from} uid=${m.uid ?? '?'} pid=${m.pid ?? '?'} to=${h['mon-to'] ?? '?'}`;
  if (h['mon-req'] !== undefined) line += ` req=${h['mon-req']}`;
  if (h['mon-status'] !== undefined) line += ` status=${h['mon-status']}`;
  if (h['mon-latency-us'] !== undefined) line += ` latency=${h['mon-latency-us']}us`;
  line += ` ${escapeBytes(data)}`;
  if (more > 0) line += ` (+${more} bytes)`;
  return line;
}

async function run(argv: readonly string[], ctx: Context): Promise<number> {
  const { values, positionals } = parseOptions(argv, options);
  if (positionals.length > 1) throw new UsageError('monitor takes at most one PATTERN');
  const pattern = checkSubject(positionals[0] ?? '>', true);
  const count = intOption(values.count, '--count');
  const max = intOption(values['max-bytes'], '--max-bytes') ?? 256;
  const client = await openLong(values.socket, 'udsbus monitor', 'reconnected');
  const { out } = ctx;
  out.pauseWhileFull(client);
  let seen = 0;
  let finish = (): void => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  let refused: Error | undefined;
  const sub = client.subscribe(
    pattern,
    (m) => {
      if (count !== undefined && seen >= count) return;
      out.line(describe(m, max, values.json === true));
      seen++;
      if (count !== undefined && seen >= count) finish();
    },
    { monitor: true },
  );
  sub.on('gap', (g: GapInfo) =>
    note(`gap: ${g.lost} monitored messages dropped (the monitor fell behind)`),
  );
  sub.on('error', (e: Error) => {
    refused = e;
    finish();
  });
  await client.flush();
  if (refused === undefined) note(`monitoring ${pattern}`);
  if (count === 0) finish();
  const failure = await runUntil(client, ctx, done);
  if (refused !== undefined || failure !== undefined) {
    note((refused ?? failure)!.message);
    await client.close({ drainTimeoutMs: 0 });
    return 1;
  }
  await client.close({ drainTimeoutMs: 0 });
  return 0;
}

export const monitor: Command = {
  name: 'monitor',
  usage: '[PATTERN] [options]',
  summary: 'print every publish, request, reply, direct message and broadcast (like dbus-monitor)',
  help: `Prints a line for every message routed on subjects matching PATTERN (default >): publishes
("pub", to = how many subscribers got it), requests ("req", to = the responder's id, 0 when
nobody serves it), replies ("reply", with the status and the latency since the request), direct
messages and broadcasts ("direct"/"broadcast"; matched as $SEND.<id> and $SEND.all), each with the
sender's client id, uid and pid, and the payload (escaped, at most --max-bytes). Delivery is not
affected: a monitor that cannot keep up loses lines, reported as gaps. The access policy must let
this uid monitor (by default only the daemon's own uid and root may).`,
  options,
  run,
};
