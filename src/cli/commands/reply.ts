// `udsbus reply`: answers requests with their own payload (--echo) or a command's output (--exec).

import { spawn } from 'node:child_process';

import { intOption, parseOptions, UsageError, type OptionSpecs } from '../../util/args.js';
import {
  checkQueue,
  checkSubject,
  SOCKET_OPTION,
  HELP_OPTION,
  note,
  openLong,
  type Command,
  type Context,
  finishLong,
} from '../command.js';

const options = {
  ...SOCKET_OPTION,
  echo: { type: 'boolean', help: 'reply with the request payload' },
  exec: {
    type: 'string',
    arg: 'CMD',
    help: "reply with CMD's stdout (run by /bin/sh, the request on its stdin)",
  },
  queue: {
    type: 'string',
    short: 'q',
    arg: 'GROUP',
    help: 'share requests with other responders of group GROUP',
  },
  count: {
    type: 'string',
    short: 'c',
    arg: 'N',
    help: 'exit after answering N requests (error replies count)',
  },
  ...HELP_OPTION,
} as const satisfies OptionSpecs;

/** Runs `cmd` with `input` on stdin; resolves to its stdout, rejects with its stderr. */
function runExec(cmd: string, input: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', cmd], { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => stdout.push(c));
    child.stderr.on('data', (c: Buffer) => stderr.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(stdout));
      else {
        const text = Buffer.concat(stderr).toString().trim();
        reject(new Error(text === '' ? `command exited with code ${code}` : text));
      }
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

async function run(argv: readonly string[], ctx: Context): Promise<number> {
  const { values, positionals } = parseOptions(argv, options);
  if (positionals.length !== 1) throw new UsageError('reply takes one SUBJECT');
  const subject = checkSubject(positionals[0]!, true);
  if ((values.echo === true) === (values.exec !== undefined))
    throw new UsageError('reply needs exactly one of --echo or --exec CMD');
  const count = intOption(values.count, '--count');
  const queue = checkQueue(values.queue);
  const client = await openLong(values.socket, 'udsbus reply');
  let answered = 0;
  let finish = (): void => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const exec = values.exec;
  client.serve(
    subject,
    async (msg) => {
      try {
        return exec === undefined ? msg.data : await runExec(exec, msg.data);
      } finally {
        // An error reply is an answer too; finish after the reply has been queued.
        answered++;
        if (count !== undefined && answered >= count) setImmediate(finish);
      }
    },
    queue === undefined ? {} : { queue },
  );
  await client.flush();
  note(`serving ${subject}`);
  if (count === 0) finish();
  return finishLong(client, ctx, done);
}

export const reply: Command = {
  name: 'reply',
  usage: 'SUBJECT (--echo | --exec CMD) [options]',
  summary: 'answer requests with their payload (--echo) or a command (--exec CMD)',
  help: `Answers requests on SUBJECT: --echo returns the request payload; --exec runs CMD with
/bin/sh, the request payload on its stdin, and replies with its stdout (a non-zero exit
becomes an error reply carrying its stderr).`,
  options,
  run,
};
