// `udsbus req`: sends one request (body from DATA, a file or stdin) and prints the reply.

import { intOption, parseOptions, UsageError, type OptionSpecs } from '../../util/args.js';
import {
  checkSubject,
  note,
  SOCKET_OPTION,
  HELP_OPTION,
  open,
  type Command,
  type Context,
} from '../command.js';
import { jsonData, payloadLine, terminalJson } from '../format.js';
import { readAll, readBodyFile } from '../input.js';
import { EXTRAS_OPTIONS, PRIORITY_OPTION, publishOptions } from '../publish-options.js';

const options = {
  ...SOCKET_OPTION,
  timeout: {
    type: 'string',
    arg: 'MS',
    help: 'how long to wait for the reply',
    default: '5000',
  },
  file: { type: 'string', short: 'f', arg: 'FILE', help: 'read the request body from FILE' },
  json: {
    type: 'boolean',
    help: 'print the reply as JSON: data (or data_base64), from, uid, pid, type, headers',
  },
  ...PRIORITY_OPTION,
  ...EXTRAS_OPTIONS,
  ...HELP_OPTION,
} as const satisfies OptionSpecs;

async function run(argv: readonly string[], ctx: Context): Promise<number> {
  const { values, positionals } = parseOptions(argv, options);
  if (positionals.length < 1 || positionals.length > 2)
    throw new UsageError('req takes SUBJECT and optional DATA');
  const subject = checkSubject(positionals[0]!, false);
  const data = positionals[1];
  if (data !== undefined && values.file !== undefined)
    throw new UsageError('give only one of DATA and --file');
  const timeoutMs = intOption(values.timeout, '--timeout', 1, 0xffffffff) ?? 5000;
  const opts = publishOptions(values);
  if (
    data === undefined &&
    values.file === undefined &&
    (ctx.stdin as { isTTY?: boolean }).isTTY === true
  )
    note('reading the request body from stdin until end of input (Ctrl-D)');
  const body =
    data !== undefined
      ? Buffer.from(data)
      : values.file !== undefined
        ? await readBodyFile(values.file)
        : await readAll(ctx.stdin);
  const client = await open(values.socket, 'udsbus req');
  try {
    const reply = await client.request(subject, body, { ...opts, timeoutMs });
    if (values.json === true) {
      ctx.out.line(
        terminalJson({
          ...jsonData(reply.data),
          from: reply.from,
          ...(reply.uid === undefined ? {} : { uid: reply.uid }),
          ...(reply.pid === undefined ? {} : { pid: reply.pid }),
          ...(reply.type === undefined ? {} : { type: reply.type }),
          ...(reply.headers === undefined ? {} : { headers: reply.headers }),
        }),
      );
    } else ctx.out.write(payloadLine(reply.data, true));
  } finally {
    await client.close({ drainTimeoutMs: 0 });
  }
  return 0;
}

export const req: Command = {
  name: 'req',
  aliases: ['request'],
  usage: 'SUBJECT [DATA] [options]',
  summary: 'send a request (DATA, a file, or stdin as the body) and print the reply',
  help: `Sends a request to one responder and prints the reply payload. The body is DATA, the
file given with --file, or else all of stdin. A responder's failure is printed as
"udsbus: responder error: MESSAGE" (exit 1).`,
  options,
  run,
};
