// `udsbus status`: the daemon's version, uptime, clients and subjects, as text or JSON.

import { defaultSocketPath } from '../../client/index.js';
import type { BrokerStatus } from '../../protocol/status.js';
import { parseOptions, UsageError, type OptionSpecs } from '../../util/args.js';
import { SOCKET_OPTION, HELP_OPTION, open, type Command, type Context } from '../command.js';
import { escapeText, terminalJson } from '../format.js';

const options = {
  ...SOCKET_OPTION,
  json: { type: 'boolean', help: 'print the status as JSON' },
  ...HELP_OPTION,
} as const satisfies OptionSpecs;

function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return [d > 0 ? `${d}d` : '', h > 0 ? `${h}h` : '', m > 0 ? `${m}m` : '', `${s % 60}s`]
    .filter(Boolean)
    .join(' ');
}

function table(rows: (string | number)[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows
    .map(
      (r) =>
        '  ' +
        r
          .map((c, i) => String(c).padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
    )
    .join('\n');
}

/** The text form of a status reply. Client names are escaped (they are client-supplied). */
export function formatStatus(st: BrokerStatus, path: string): string {
  const lines = [
    `${st.server} ${st.version} (protocol ${st.protocol}) on ${escapeText(path)}, up ${duration(st.uptimeMs)}`,
    `messages: ${st.totals.msgsIn} in, ${st.totals.msgsDelivered} delivered, ${st.totals.dropped} dropped; ${st.totals.pendingRequests} requests pending`,
    `state: ${st.totals.stateKeys} keys, ${st.totals.stateBytes} bytes, revision ${st.totals.stateRevision}`,
    `timers: ${st.totals.timers}, event sources: ${st.totals.sources}`,
    ...(st.totals.denied > 0
      ? [
          `access policy: ${st.totals.denied} denied (${Object.entries(st.totals.deniedByVerb)
            .map(([verb, n]) => `${verb} ${n}`)
            .join(', ')})`,
        ]
      : []),
    `clients: ${st.clients.length}`,
  ];
  if (st.clients.length > 0) {
    lines.push(
      table([
        ['ID', 'NAME', 'UID', 'PID', 'SUBS', 'QUEUED', 'DROPPED'],
        ...st.clients.map((c) => [
          c.id,
          c.name === '' ? '-' : escapeText(c.name),
          c.peer?.uid ?? '-',
          // The kernel's pid when the daemon could read it, else the claimed one (marked).
          c.peer !== null ? c.peer.pid : c.pid !== null ? `${c.pid}?` : '-',
          c.subscriptions,
          c.queuedBytes,
          c.dropped,
        ]),
      ]),
    );
  }
  lines.push(`subjects: ${st.subjects.length}`);
  if (st.subjects.length > 0) {
    lines.push(
      table([
        ['SUBJECT', 'SUBSCRIBERS', 'RESPONDERS'],
        ...st.subjects.map((s) => [escapeText(s.subject), s.subscribers, s.responders]),
      ]),
    );
  }
  return lines.join('\n');
}

async function run(argv: readonly string[], ctx: Context): Promise<number> {
  const { values, positionals } = parseOptions(argv, options);
  if (positionals.length > 0) throw new UsageError('status takes no arguments');
  const path = values.socket ?? defaultSocketPath();
  const client = await open(path, 'udsbus status');
  let st: BrokerStatus;
  try {
    st = await client.status();
  } finally {
    await client.close({ drainTimeoutMs: 0 });
  }
  // Leave out the status client itself.
  st.clients = st.clients.filter((c) => c.id !== client.id);
  st.clientsTotal = st.clients.length;
  ctx.out.line(
    values.json === true ? terminalJson({ ...st, socket: path }, 2) : formatStatus(st, path),
  );
  return 0;
}

export const status: Command = {
  name: 'status',
  usage: '[options]',
  summary: "show the daemon's clients and subjects",
  help: "Shows the daemon's version, uptime, clients and subjects.",
  options,
  run,
};
