// The client side of the daemon commands `echo`, `timer.*`, `trigger` and `source.*`: argument
// checks (before anything is sent) and the options types. Imports protocol/ only.

import { toBytes } from '../protocol/bytes.js';
import { subjectProblem } from '../protocol/subject.js';

/** Options of `Client.startTimer`. */
export interface TimerOptions {
  /** Where ticks are published; default `timer.<name>`. */
  subject?: string;
  /** Ticks in all; default 0: until stopped. */
  count?: number;
  /** Replace a running timer of that name instead of failing with BUS_ERR_CONFLICT. */
  replace?: boolean;
}

/** What `Client.addSource` adds: a path (FIFO, character device, regular file) or a command. */
export interface SourceOptions {
  name: string;
  /** An absolute path; give this or `command`. */
  path?: string;
  /** A command run with /bin/sh -c by the daemon; its stdout is read. */
  command?: string;
  subject: string;
  /** `line` (default), `lp` (LEB128 length prefix) or `fixed:N`. */
  framing?: string;
  /** Regular files: read from the `end` (default, like tail -F -n 0) or the `start`. */
  from?: 'start' | 'end';
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Throws TypeError unless `name` can name a timer or a source. */
export function checkDaemonName(what: string, name: string): void {
  if (typeof name !== 'string' || !NAME.test(name))
    throw new TypeError(`${what} name must be 1 to 64 of A-Z a-z 0-9 _ -`);
}

/** The `timer.start` args, checked. */
export function timerArgs(
  name: string,
  intervalMs: number,
  options: TimerOptions,
): Record<string, unknown> {
  checkDaemonName('timer', name);
  if (!Number.isInteger(intervalMs) || intervalMs < 1)
    throw new RangeError('intervalMs must be a positive integer');
  const args: Record<string, unknown> = { name, intervalMs };
  if (options.subject !== undefined) {
    const problem = subjectProblem(options.subject, false);
    if (problem !== null) throw new TypeError(problem);
    args['subject'] = options.subject;
  }
  if (options.count !== undefined) {
    if (!Number.isInteger(options.count) || options.count < 0)
      throw new RangeError('count must be a non-negative integer');
    args['count'] = options.count;
  }
  if (options.replace === true) args['replace'] = true;
  return args;
}

/** The `trigger` args, checked. */
export function triggerArgs(event: string, data?: Uint8Array | string): Record<string, unknown> {
  const problem = subjectProblem(`event.${event}`, false);
  if (problem !== null) throw new TypeError(problem);
  return data === undefined ? { event } : { event, data: toBytes(data) };
}

/** The `source.add` args, checked (the daemon checks them again, and the path). */
export function sourceArgs(o: SourceOptions): Record<string, unknown> {
  checkDaemonName('source', o.name);
  if ((o.path === undefined) === (o.command === undefined))
    throw new TypeError('give exactly one of path and command');
  const problem = subjectProblem(o.subject, false);
  if (problem !== null) throw new TypeError(problem);
  const args: Record<string, unknown> = { name: o.name, subject: o.subject };
  if (o.path !== undefined) args['path'] = o.path;
  if (o.command !== undefined) args['command'] = o.command;
  if (o.framing !== undefined) args['framing'] = o.framing;
  if (o.from !== undefined) args['from'] = o.from;
  return args;
}
