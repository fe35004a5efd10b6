// `udsbus top`: the daemon's clients with their message rates and queue depths, refreshed in
// place on a terminal (sort keys, q quits), or printed every interval when stdout is not one.

import type { BrokerStatus, ClientStatus } from '../../protocol/status.js';
import { intOption, parseOptions, UsageError, type OptionSpecs } from '../../util/args.js';
import { SOCKET_OPTION, HELP_OPTION, note, open, type Command, type Context } from '../command.js';
import { escapeText } from '../format.js';

const SORTS = ['in', 'out', 'queue', 'drops', 'id'] as const;
type Sort = (typeof SORTS)[number];

const options = {
  ...SOCKET_OPTION,
  interval: { type: 'string', short: 'i', arg: 'MS', help: 'refresh every MS', default: '1000' },
  sort: {
    type: 'string',
    arg: 'KEY',
    help: `sort clients by ${SORTS.join(', ')} (keys i, o, b, d, n on a terminal)`,
    default: 'in',
  },
  count: { type: 'string', short: 'c', arg: 'N', help: 'exit after N refreshes' },
  ...HELP_OPTION,
} as const satisfies OptionSpecs;

interface Row {
  c: ClientStatus;
  inRate: number;
  outRate: number;
}

/** Per-client rates between two status snapshots `ms` apart. */
export function rates(prev: BrokerStatus | undefined, now: BrokerStatus, ms: number): Row[] {
  const before = new Map(prev?.clients.map((c) => [c.id, c]) ?? []);
  return now.clients.map((c) => {
    const b = before.get(c.id);
    const sec = ms / 1000;
    return {
      c,
      inRate: b === undefined ? 0 : (c.msgsIn - b.msgsIn) / sec,
      outRate: b === undefined ? 0 : (c.msgsOut - b.msgsOut) / sec,
    };
  });
}

function sortRows(rows: Row[], by: Sort): Row[] {
  const key: Record<Sort, (r: Row) => number> = {
    in: (r) => -r.inRate,
    out: (r) => -r.outRate,
    queue: (r) => -r.c.queuedBytes,
    drops: (r) => -r.c.dropped,
    id: (r) => r.c.id,
  };
  return [...rows].sort((a, b) => key[by](a) - key[by](b) || a.c.id - b.c.id);
}

/** The screen: a header with the totals, then one line per client. */
export function render(
  st: BrokerStatus,
  rows: Row[],
  by: Sort,
  width: number,
  height: number,
): string {
  const t = st.totals;
  const totalIn = rows.reduce((n, r) => n + r.inRate, 0);
  const totalOut = rows.reduce((n, r) => n + r.outRate, 0);
  const lines = [
    `udsbus ${st.version}, up ${Math.round(st.uptimeMs / 1000)} s, ${st.clientsTotal} clients, ${st.subjectsTotal} patterns, sorted by ${by}`,
    `msgs/s in ${Math.round(totalIn)}, out ${Math.round(totalOut)}; dropped ${t.dropped}; requests pending ${t.pendingRequests}; denied ${t.denied}`,
    '',
    pad(['ID', 'NAME', 'UID', 'PID', 'IN/S', 'OUT/S', 'QUEUED', 'DROPPED', 'SUBS']),
  ];
  for (const r of sortRows(rows, by).slice(0, Math.max(0, height - lines.length - 1))) {
    lines.push(
      pad([
        String(r.c.id),
        r.c.name === '' ? '-' : escapeText(r.c.name).slice(0, 20),
        String(r.c.peer?.uid ?? '-'),
        String(r.c.peer?.pid ?? '-'),
        String(Math.round(r.inRate)),
        String(Math.round(r.outRate)),
        String(r.c.queuedBytes),
        String(r.c.dropped),
        String(r.c.subscriptions),
      ]),
    );
  }
  return lines.map((l) => l.slice(0, width)).join('\n');
}

const WIDTHS = [6, 20, 6, 8, 9, 9, 10, 9, 6];
function pad(cells: string[]): string {
  return cells
    .map((c, i) => c.padEnd(WIDTHS[i]!))
    .join(' ')
    .trimEnd();
}

async function run(argv: readonly string[], ctx: Context): Promise<number> {
  const { values, positionals } = parseOptions(argv, options);
  if (positionals.length > 0) throw new UsageError('top takes no arguments');
  const interval = intOption(values.interval, '--interval', 50) ?? 1000;
  const count = intOption(values.count, '--count', 1);
  let by = (values.sort ?? 'in') as Sort;
  if (!SORTS.includes(by)) throw new UsageError(`--sort must be one of ${SORTS.join(', ')}`);
  const client = await open(values.socket, 'udsbus top');
  const tty = process.stdout.isTTY && process.stdin.isTTY;
  let stop = false;
  const keys: Record<string, Sort> = { i: 'in', o: 'out', b: 'queue', d: 'drops', n: 'id' };
  let quit = (): void => undefined;
  let wake = (): void => undefined;
  const quitted = new Promise<void>((resolve) => (quit = resolve));
  if (tty) {
    process.stdin.setRawMode(true);
    process.stdin.resume();
    process.stdin.on('data', (b: Buffer) => {
      const k = b.toString();
      if (k === 'q' || k === 'Q' || k === '\u0003' || k === '\u001b') quit();
      else if (keys[k] !== undefined) {
        by = keys[k];
        wake(); // redraw now, sorted the new way
      }
    });
    process.stdout.write('\u001b[?1049h\u001b[?25l');
  }
  void ctx.stopped.then(() => quit());
  void quitted.then(() => (stop = true));
  let prev: BrokerStatus | undefined;
  let last = Date.now();
  let n = 0;
  try {
    while (!stop) {
      const st = await client.status();
      const now = Date.now();
      const rows = rates(prev, st, now - last);
      prev = st;
      last = now;
      if (tty) {
        const screen = render(
          st,
          rows,
          by,
          process.stdout.columns || 100,
          process.stdout.rows || 24,
        );
        process.stdout.write(
          `\u001b[H\u001b[2J${screen}\n(sort: i in, o out, b queue, d drops, n id; q quits)`,
        );
      } else {
        ctx.out.line(`${render(st, rows, by, 1000, 1_000_000)}\n`);
      }
      if (count !== undefined && ++n >= count) break;
      await Promise.race([
        new Promise<void>((r) => {
          const t = setTimeout(r, interval);
          wake = () => {
            clearTimeout(t);
            r();
          };
        }),
        quitted,
      ]);
    }
  } catch (err) {
    note((err as Error).message);
    return 1;
  } finally {
    if (tty) {
      process.stdout.write('\u001b[?25h\u001b[?1049l');
      process.stdin.setRawMode(false);
      process.stdin.pause();
    }
    await client.close({ drainTimeoutMs: 0 }).catch(() => undefined);
  }
  return 0;
}

export const top: Command = {
  name: 'top',
  usage: '[options]',
  summary: "the daemon's clients with message rates and queue depths, refreshed",
  help: `Shows every client with its messages per second in and out, bytes queued in the daemon,
messages dropped and subscriptions, with the daemon's totals on top, refreshed every --interval.
On a terminal the screen is redrawn in place: i, o, b, d and n sort by rate in, rate out, bytes
queued, drops and id; q (or Esc, Ctrl-C) quits. When stdout is not a terminal the
table is printed every interval (with --count N refreshes, then exit).`,
  options,
  run,
};
