// `udsbus timer start|stop|ls`: the daemon's timers (ticks published on timer.NAME).

import type { TimerInfo } from '../../client/index.js';
import { intOption, parseOptions, UsageError, type OptionSpecs } from '../../util/args.js';
import {
  checkSubject,
  SOCKET_OPTION,
  HELP_OPTION,
  open,
  type Command,
  type Context,
  withClient,
} from '../command.js';
import { columns, escapeText, terminalJson } from '../format.js';

const options = {
  ...SOCKET_OPTION,
  every: { type: 'string', short: 'e', arg: 'MS', help: 'start: the interval, ms (required)' },
  subject: {
    type: 'string',
    arg: 'SUBJECT',
    help: 'start: where ticks are published',
    default: 'timer.NAME',
  },
  count: {
    type: 'string',
    short: 'c',
    arg: 'N',
    help: 'start: stop after N ticks',
    default: '0: until stopped',
  },
  replace: { type: 'boolean', help: 'start: replace a running timer of that name' },
  json: { type: 'boolean', help: 'print the result as JSON' },
  ...HELP_OPTION,
} as const satisfies OptionSpecs;

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

function timerName(name: string | undefined): string {
  if (name === undefined || !NAME.test(name))
    throw new UsageError('a timer name is 1 to 64 of A-Z a-z 0-9 _ -');
  return name;
}

function describe(t: TimerInfo): string {
  const count = t.count > 0 ? `, ${t.count} ticks` : '';
  return `timer ${t.name}: every ${t.intervalMs} ms on ${escapeText(t.subject)}${count}`;
}

async function run(argv: readonly string[], ctx: Context): Promise<number> {
  const { values, positionals } = parseOptions(argv, options);
  const [action, name, ...rest] = positionals;
  if (rest.length > 0) throw new UsageError(`timer ${action ?? ''} takes at most a NAME`);
  const startOnly = ['every', 'subject', 'count', 'replace'] as const;
  if (action !== 'start' && startOnly.some((k) => values[k] !== undefined))
    throw new UsageError('--every, --subject, --count and --replace go with timer start');
  let call: (c: Awaited<ReturnType<typeof open>>) => Promise<void>;
  switch (action) {
    case 'start': {
      const n = timerName(name);
      const every = intOption(values.every, '--every', 1);
      if (every === undefined) throw new UsageError('timer start needs --every MS');
      const count = intOption(values.count, '--count', 0);
      const subject =
        values.subject === undefined ? undefined : checkSubject(values.subject, false);
      call = async (c) => {
        const t = await c.startTimer(n, every, { subject, count, replace: values.replace });
        ctx.out.line(values.json === true ? terminalJson(t) : describe(t));
      };
      break;
    }
    case 'stop': {
      const n = timerName(name);
      call = async (c) => {
        const t = await c.stopTimer(n);
        ctx.out.line(
          values.json === true ? terminalJson(t) : `timer ${t.name}: stopped after ${t.sent} ticks`,
        );
      };
      break;
    }
    case 'ls':
      if (name !== undefined) throw new UsageError('timer ls takes no NAME');
      call = async (c) => {
        const list = await c.timers();
        if (values.json === true) ctx.out.line(terminalJson(list));
        else if (list.length === 0) ctx.out.line('no timers');
        else
          for (const line of columns([
            ['NAME', 'SUBJECT', 'EVERY', 'COUNT', 'SENT', 'SKIPPED', 'MAXLATE'],
            ...list.map((t) => [
              t.name,
              escapeText(t.subject),
              `${t.intervalMs}ms`,
              t.count === 0 ? '-' : String(t.count),
              String(t.sent),
              String(t.skipped),
              `${t.maxLateMs}ms`,
            ]),
          ]))
            ctx.out.line(line);
      };
      break;
    default:
      throw new UsageError('timer takes start, stop or ls');
  }
  await withClient(values.socket, 'udsbus timer', call);
  return 0;
}

export const timer: Command = {
  name: 'timer',
  usage: 'start NAME --every MS [--subject S] [--count N] | stop NAME | ls [options]',
  summary: "start, stop or list the daemon's timers",
  help: `timer start NAME --every MS has the daemon publish a tick every MS milliseconds on
timer.NAME (or --subject), --count N times or until timer stop NAME. Tick N is due at
start + N x MS (no drift); its payload is JSON {timer, seq, due, late[, skipped]}, with headers
timer and seq. Timers belong to the daemon: they go on after this command exits.
timer ls lists the running timers.`,
  options,
  run,
};
