// `udsbus source add|ls|rm`: the daemon's event sources (FIFOs, devices, files, commands).

import { resolve } from 'node:path';
import type { SourceInfo } from '../../client/index.js';
import { parseOptions, UsageError, type OptionSpecs } from '../../util/args.js';
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
  path: {
    type: 'string',
    short: 'p',
    arg: 'PATH',
    help: 'add: a FIFO, character device or regular file',
  },
  command: { type: 'string', arg: 'CMD', help: 'add: a command (sh -c) whose stdout is read' },
  subject: { type: 'string', arg: 'SUBJECT', help: 'add: where records are published (required)' },
  framing: {
    type: 'string',
    short: 'f',
    arg: 'F',
    help: 'add: line, fixed:N (N-byte records) or lp (LEB128 length prefix)',
    default: 'line',
  },
  'from-start': { type: 'boolean', help: 'add: read a regular file from its start, not its end' },
  json: { type: 'boolean', help: 'print the result as JSON' },
  ...HELP_OPTION,
} as const satisfies OptionSpecs;

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

function sourceName(name: string | undefined): string {
  if (name === undefined || !NAME.test(name))
    throw new UsageError('a source name is 1 to 64 of A-Z a-z 0-9 _ -');
  return name;
}

function describe(s: SourceInfo): string {
  const why = s.lastError === null ? '' : ` (${escapeText(s.lastError)})`;
  return `source ${s.name}: ${s.kind} ${escapeText(s.path)} -> ${escapeText(s.subject)}, ${s.framing}, ${s.state}${why}`;
}

async function run(argv: readonly string[], ctx: Context): Promise<number> {
  const { values, positionals } = parseOptions(argv, options);
  const [action, name, ...rest] = positionals;
  if (rest.length > 0) throw new UsageError(`source ${action ?? ''} takes at most a NAME`);
  const addOnly = ['path', 'command', 'subject', 'framing', 'from-start'] as const;
  if (action !== 'add' && addOnly.some((k) => values[k] !== undefined))
    throw new UsageError(
      '--path, --command, --subject, --framing and --from-start go with source add',
    );
  let call: (c: Awaited<ReturnType<typeof open>>) => Promise<void>;
  switch (action) {
    case 'add': {
      const n = sourceName(name);
      if ((values.path === undefined) === (values.command === undefined))
        throw new UsageError('source add needs one of --path and --command');
      if (values.subject === undefined) throw new UsageError('source add needs --subject');
      const subject = checkSubject(values.subject, false);
      const framing = values.framing ?? 'line';
      if (!/^(line|lp|fixed:\d{1,6})$/.test(framing))
        throw new UsageError('--framing must be line, lp or fixed:N');
      const path = values.path === undefined ? undefined : resolve(values.path);
      call = async (c) => {
        const s = await c.addSource({
          name: n,
          path,
          command: values.command,
          subject,
          framing,
          from: values['from-start'] === true ? 'start' : undefined,
        });
        ctx.out.line(values.json === true ? terminalJson(s) : describe(s));
      };
      break;
    }
    case 'rm': {
      const n = sourceName(name);
      call = async (c) => {
        const s = await c.removeSource(n);
        ctx.out.line(
          values.json === true
            ? terminalJson(s)
            : `source ${s.name}: removed after ${s.records} records`,
        );
      };
      break;
    }
    case 'ls':
      if (name !== undefined) throw new UsageError('source ls takes no NAME');
      call = async (c) => {
        const list = await c.sources();
        if (values.json === true) ctx.out.line(terminalJson(list));
        else if (list.length === 0) ctx.out.line('no sources');
        else
          for (const line of columns([
            [
              'NAME',
              'KIND',
              'PATH',
              'SUBJECT',
              'FRAMING',
              'STATE',
              'RECORDS',
              'UNROUTED',
              'FAILURES',
            ],
            ...list.map((s) => [
              s.name,
              s.kind,
              escapeText(s.path),
              escapeText(s.subject),
              s.framing,
              s.state,
              String(s.records),
              String(s.unrouted),
              String(s.failures),
            ]),
          ]))
            ctx.out.line(line);
      };
      break;
    default:
      throw new UsageError('source takes add, ls or rm');
  }
  await withClient(values.socket, 'udsbus source', call);
  return 0;
}

export const source: Command = {
  name: 'source',
  usage: 'add NAME (--path P | --command CMD) --subject S [--framing F] | ls | rm NAME [options]',
  summary: 'add, list or remove event sources the daemon reads',
  help: `source add has the daemon read a FIFO, a character device (/dev/input/event*), a regular
file (followed like tail -F, from its end unless --from-start) or a command's stdout, and publish
each record (--framing line, fixed:N or lp) on SUBJECT with headers source and path (or command).
A source that fails is reopened with backoff; every change is published on $SYS.source.NAME.
Only the daemon's own user (or root) may add or remove sources.`,
  options,
  run,
};
