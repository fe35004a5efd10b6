// `udsbus` command line: finds the subcommand, prints help, runs it with stdout, signals and
// errors handled in one place. Exit codes: 0 success, 1 operational failure, 2 usage error.
// Imports client/, protocol/, util/ and ./ only; `udsbus daemon` is routed by bin/udsbus.js.

import { BusError, ErrorCode } from '../client/index.js';
import { UsageError } from '../util/args.js';
import { packageVersion } from '../util/version.js';
import { CliFailure, commandHelp, note, type Context, type StopReason } from './command.js';
import { COMMANDS, findCommand } from './commands/index.js';
import { Output } from './output.js';

/** `udsbus --help`. */
export function mainHelp(): string {
  const rows: [string, string][] = [
    ['daemon', 'run the bus daemon (udsbus daemon --help)'],
    ...COMMANDS.map((c): [string, string] => [c.name, c.summary]),
  ];
  const width = Math.max(...rows.map(([n]) => n.length)) + 2;
  return `Usage: udsbus <command> [options]

A local message bus over one Unix domain socket.

Commands:
${rows.map(([n, s]) => `  ${n.padEnd(width)}${s}`).join('\n')}

Every command takes -s, --socket PATH and -h, --help ('udsbus help COMMAND').
  -V, --version  print the version
`;
}

/** How long a command may take to wind down after SIGINT/SIGTERM before the CLI exits anyway. */
const STOP_GRACE_MS = 1000;

/** What the responder said, without the client's "the responder for X failed: " framing. */
function responderText(err: BusError): string {
  const subject = err.detail?.['subject'];
  const prefix = typeof subject === 'string' ? `the responder for ${subject} failed: ` : undefined;
  return prefix !== undefined && err.message.startsWith(prefix)
    ? err.message.slice(prefix.length)
    : err.message;
}

/**
 * Maps a failure to its message and exit code: usage errors 2; bus and operational errors 1;
 * anything else is a bug in udsbus, said as such (exit 1), never as a usage error.
 */
export function reportError(err: unknown, command: string | undefined): number {
  if (err instanceof UsageError) {
    process.stderr.write(
      `udsbus: ${err.message}\nRun 'udsbus ${command === undefined ? '' : command + ' '}--help' for usage.\n`,
    );
    return 2;
  }
  if (err instanceof BusError) {
    note(
      err.code === ErrorCode.RESPONDER_FAILED
        ? `responder error: ${responderText(err)}`
        : err.message,
    );
    return 1;
  }
  if (err instanceof CliFailure) {
    note(err.message);
    return 1;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  note(`internal error: ${e.message} (a bug in udsbus; UDSBUS_DEBUG=1 prints the stack)`);
  if (process.env['UDSBUS_DEBUG'] === '1') process.stderr.write(`${e.stack ?? ''}\n`);
  return 1;
}

/** True when -h/--help comes before any `--`. */
function wantsHelp(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '-h' || a === '--help') return true;
  }
  return false;
}

/** Resolves on the first SIGINT/SIGTERM; exits after a grace period, or at once on a second. */
function onSignals(): { stopped: Promise<StopReason>; dispose: () => void } {
  let resolveStop: (r: StopReason) => void = () => undefined;
  const stopped = new Promise<StopReason>((resolve) => (resolveStop = resolve));
  let seen = false;
  const handler = (sig: NodeJS.Signals): void => {
    const code = sig === 'SIGINT' ? 130 : 143;
    if (seen) process.exit(code);
    seen = true;
    resolveStop('signal');
    setTimeout(() => process.exit(code), STOP_GRACE_MS).unref();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    stopped,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

/** Runs the CLI; resolves to the exit code once stdout is flushed. */
export async function main(
  argv: readonly string[],
  stdin: NodeJS.ReadableStream = process.stdin,
): Promise<number> {
  process.stderr.on('error', () => undefined);
  const out = new Output();
  let code = await dispatch(argv, stdin, out);
  const signals = onSignals();
  await out.flush();
  signals.dispose();
  const ended = out.ended;
  // The reader went away (`| head -1`): that ends the command quietly, like mosquitto_sub.
  if (ended !== undefined && !ended.quiet) {
    note(`cannot write to stdout: ${ended.error.code ?? ended.error.message}`);
    code = 1;
  }
  return code;
}

async function dispatch(
  argv: readonly string[],
  stdin: NodeJS.ReadableStream,
  out: Output,
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(mainHelp());
    return 2;
  }
  if (name === '-h' || name === '--help') {
    out.write(mainHelp());
    return 0;
  }
  if (name === '-V' || name === '--version') {
    out.line(`udsbus ${packageVersion()}`);
    return 0;
  }
  if (name === 'help') {
    const topic = rest[0];
    if (topic === undefined) {
      out.write(mainHelp());
      return 0;
    }
    const c = findCommand(topic);
    if (c === undefined)
      return reportError(new UsageError(`unknown command ${JSON.stringify(topic)}`), undefined);
    out.write(commandHelp(c));
    return 0;
  }
  const command = findCommand(name);
  if (command === undefined)
    return reportError(new UsageError(`unknown command ${JSON.stringify(name)}`), undefined);
  if (wantsHelp(rest)) {
    out.write(commandHelp(command));
    return 0;
  }
  const signals = onSignals();
  const stopped = Promise.race([
    signals.stopped,
    out.whenEnded().then((): StopReason => 'output-closed'),
  ]);
  const ctx: Context = { out, stopped, stdin };
  try {
    return await command.run(rest, ctx);
  } catch (err) {
    return reportError(err, command.name);
  } finally {
    signals.dispose();
  }
}
