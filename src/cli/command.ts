// What a `udsbus` subcommand is ({ name, summary, help, options, run }), the context it runs in,
// and the helpers every command shares. Imports client/, protocol/, util/ and ./output (a type).

import { connect, defaultSocketPath, type Client, type BusError } from '../client/index.js';
import { stateKeyProblem } from '../protocol/state.js';
import { subjectProblem } from '../protocol/subject.js';
import { formatOptions, UsageError, type OptionSpecs } from '../util/args.js';
import type { Output } from './output.js';

/** Why a long-running command should stop. */
export type StopReason = 'signal' | 'output-closed';

/** What a command runs with. */
export interface Context {
  /** stdout, with backpressure and EPIPE handled. */
  out: Output;
  /** Resolves on SIGINT/SIGTERM, or when stdout is closed by its reader. */
  stopped: Promise<StopReason>;
  /** Input bytes (stdin). */
  stdin: NodeJS.ReadableStream;
}

/** A `udsbus` subcommand. */
export interface Command {
  name: string;
  /** Other names it answers to (`request` for `req`). */
  aliases?: readonly string[];
  /** The usage line's arguments: `SUBJECT [DATA] [options]`. */
  usage: string;
  /** One line for `udsbus --help` and the docs. */
  summary: string;
  /** The paragraph(s) between the usage line and the options. */
  help: string;
  options: OptionSpecs;
  /** Runs the command; resolves to the exit code. Throws UsageError before connecting. */
  run(argv: readonly string[], ctx: Context): Promise<number>;
}

/** An operational failure (exit 1), said in one line. */
export class CliFailure extends Error {
  override readonly name = 'CliFailure';
}

/** The option every command takes first. */
export const SOCKET_OPTION = {
  socket: {
    type: 'string',
    short: 's',
    arg: 'PATH',
    help: 'bus socket',
    default: '$UDSBUS_SOCKET, $XDG_RUNTIME_DIR/udsbus/bus.sock, /tmp/udsbus-<uid>/bus.sock',
  },
} as const satisfies OptionSpecs;

/** The option every command takes last. */
/** `-c, --count N`, shared by the commands that print what arrives. */
export const COUNT_OPTION = {
  count: { type: 'string', short: 'c', arg: 'N', help: 'exit after N messages' },
} as const satisfies OptionSpecs;

export const HELP_OPTION = {
  help: { type: 'boolean', short: 'h', help: 'show this help' },
} as const satisfies OptionSpecs;

/** The full help text of a command. */
export function commandHelp(c: Command): string {
  return `Usage: udsbus ${c.name} ${c.usage}\n\n${c.help}\n\nOptions:\n${formatOptions(c.options)}\n`;
}

/** Throws UsageError when `subject` is not a valid subject (or pattern, with `wildcards`). */
export function checkSubject(subject: string, wildcards: boolean): string {
  const problem = subjectProblem(subject, wildcards);
  if (problem !== null) throw new UsageError(problem);
  return subject;
}

/** Throws UsageError when `key` is not a valid state key (or key pattern, with `wildcards`). */
export function checkKey(key: string, wildcards: boolean): string {
  const problem = stateKeyProblem(key, wildcards);
  if (problem !== null) throw new UsageError(problem);
  return key;
}

/** Throws UsageError when `group` is not a valid queue group name. */
export function checkQueue(group: string | undefined): string | undefined {
  const problem = group === undefined ? null : subjectProblem(group, false);
  if (problem !== null) throw new UsageError(problem.replace(/^subject/, 'queue group name'));
  return group;
}

/** Connects to the daemon at `socket` (or the default path). */
export function open(socket: string | undefined, name: string, reconnect = false): Promise<Client> {
  return connect({ path: socket ?? defaultSocketPath(), name, reconnect });
}

/**
 * A reconnecting client for a long-running command: disconnections, non-fatal errors and (when
 * `reconnected` is given) reconnections are said on stderr.
 */
export async function openLong(
  socket: string | undefined,
  name: string,
  reconnected?: string,
): Promise<Client> {
  const client = await open(socket, name, true);
  client.on('disconnect', (e: BusError) => note(`disconnected (${e.message}); reconnecting`));
  if (reconnected !== undefined) client.on('reconnect', () => note(reconnected));
  client.on('error', (e: BusError) => note(e.message));
  return client;
}

/**
 * The end of a long-running command: waits as runUntil does; a client that closed for good is
 * reported (exit 1), else the client is closed (at once with `noDrain`) and the exit code is 0.
 */
export async function finishLong(
  client: Client,
  ctx: Context,
  done: Promise<void>,
  noDrain = false,
): Promise<number> {
  const failure = await runUntil(client, ctx, done);
  if (failure !== undefined) {
    note(failure.message);
    return 1;
  }
  await client.close(noDrain ? { drainTimeoutMs: 0 } : {});
  return 0;
}

/** Opens a client, runs `fn` with it, and closes it whatever happens. */
export async function withClient(
  socket: string | undefined,
  name: string,
  fn: (client: Client) => Promise<void>,
): Promise<void> {
  const client = await open(socket, name);
  try {
    await fn(client);
  } finally {
    await client.close();
  }
}

/** Writes `udsbus: LINE` on stderr. */
export function note(line: string): void {
  process.stderr.write(`udsbus: ${line}\n`);
}

/**
 * Waits for the end of a long-running command: `done` (its own end), a stop (signal or closed
 * stdout), or the client closing for good (a BusError, reported by the caller).
 */
export async function runUntil(
  client: Client,
  ctx: Context,
  done: Promise<void>,
): Promise<BusError | undefined> {
  const closed = new Promise<BusError | undefined>((resolve) => client.once('close', resolve));
  const result = await Promise.race([done, ctx.stopped, closed]);
  return typeof result === 'object' ? result : undefined;
}
