// `udsbus check`: a health check for systemd, cron and container probes: one line, and exit 0
// (healthy), 1 (a threshold is passed) or 2 (no daemon answers).

import type { BrokerStatus } from '../../protocol/status.js';
import { intOption, parseOptions, UsageError, type OptionSpecs } from '../../util/args.js';
import { SOCKET_OPTION, HELP_OPTION, open, type Command, type Context } from '../command.js';

const options = {
  ...SOCKET_OPTION,
  'max-queue-bytes': {
    type: 'string',
    arg: 'N',
    help: 'unhealthy when any client has more than N bytes queued in the daemon',
  },
  'max-drops-per-min': {
    type: 'string',
    arg: 'N',
    help: 'unhealthy when messages are dropped faster than N a minute (measured over --interval)',
  },
  interval: {
    type: 'string',
    arg: 'MS',
    help: 'how long to measure the drop rate',
    default: '1000',
  },
  timeout: {
    type: 'string',
    arg: 'MS',
    help: 'give up (exit 2) when the daemon has not answered within MS',
    default: '2000',
  },
  ...HELP_OPTION,
} as const satisfies OptionSpecs;

async function run(argv: readonly string[], ctx: Context): Promise<number> {
  const { values, positionals } = parseOptions(argv, options);
  if (positionals.length > 0) throw new UsageError('check takes no arguments');
  const maxQueue = intOption(values['max-queue-bytes'], '--max-queue-bytes');
  const maxDrops = intOption(values['max-drops-per-min'], '--max-drops-per-min');
  const interval = intOption(values.interval, '--interval', 1) ?? 1000;
  const timeout = intOption(values.timeout, '--timeout', 1) ?? 2000;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${timeout} ms`)),
      timeout + (maxDrops === undefined ? 0 : interval),
    );
  });
  try {
    const measured = await Promise.race([
      measure(values.socket, maxDrops === undefined ? 0 : interval),
      late,
    ]);
    const problems: string[] = [];
    const worst = measured.last.clients.reduce((a, c) => (c.queuedBytes > a.queuedBytes ? c : a), {
      id: 0,
      queuedBytes: 0,
    });
    if (maxQueue !== undefined && worst.queuedBytes > maxQueue) {
      problems.push(`client ${worst.id} has ${worst.queuedBytes} bytes queued (limit ${maxQueue})`);
    }
    const perMin = measured.dropsPerMin;
    if (maxDrops !== undefined && perMin !== null && perMin > maxDrops) {
      problems.push(`${Math.round(perMin)} drops a minute (limit ${maxDrops})`);
    }
    const st = measured.last;
    const summary = `${st.clientsTotal} clients, ${st.totals.dropped} dropped in all${perMin === null ? '' : `, ${Math.round(perMin)} drops/min`}, largest queue ${worst.queuedBytes} bytes`;
    if (problems.length > 0) {
      ctx.out.line(`UNHEALTHY: ${problems.join('; ')} (${summary})`);
      return 1;
    }
    ctx.out.line(`OK: udsbus ${st.version}, up ${Math.round(st.uptimeMs / 1000)} s, ${summary}`);
    return 0;
  } catch (err) {
    ctx.out.line(`DOWN: ${(err as Error).message}`);
    return 2;
  } finally {
    clearTimeout(timer);
  }
}

/** Status now (and `interval` ms later, for the drop rate). */
async function measure(
  socket: string | undefined,
  interval: number,
): Promise<{ last: BrokerStatus; dropsPerMin: number | null }> {
  const client = await open(socket, 'udsbus check');
  try {
    const first = await client.status();
    if (interval === 0) return { last: first, dropsPerMin: null };
    await new Promise((r) => setTimeout(r, interval));
    const last = await client.status();
    const dropped = last.totals.dropped - first.totals.dropped;
    return { last, dropsPerMin: (dropped * 60_000) / interval };
  } finally {
    await client.close({ drainTimeoutMs: 0 }).catch(() => undefined);
  }
}

export const check: Command = {
  name: 'check',
  usage: '[options]',
  summary: 'health check: one line, exit 0 healthy, 1 a threshold passed, 2 no daemon',
  help: `Asks the daemon for its status and prints one line: "OK: ..." (exit 0), "UNHEALTHY: ..."
when a threshold is passed (exit 1), or "DOWN: ..." when no daemon answers within --timeout
(exit 2). For systemd (ExecStartPost, a watchdog timer), cron and container health checks.`,
  options,
  run,
};
