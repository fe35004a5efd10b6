// The daemon's event sources by name: added from the config file (`[[source]]`) or at run time
// by the `source.add` call (the broker checks the caller may), listed and removed. Checks every
// argument and answers a BusError naming it. Imports broker/, protocol/, node and ./.

import { isAbsolute } from 'node:path';
import { daemonNameProblem, type Broker, type SourceHost } from '../../broker/index.js';
import { BusError, ErrorCode } from '../../protocol/errors.js';
import type { Obj } from '../../protocol/schema.js';
import { isDaemonSubject, subjectProblem } from '../../protocol/subject.js';
import { parseFraming } from './framing.js';
import {
  EventSource,
  pathKind,
  type SourceInfo,
  type SourceOptions,
  type SourceSpec,
} from './source.js';

/** Event sources one daemon reads at most (`--max-sources`). */
export const DEFAULT_MAX_SOURCES = 64;

/** Source defaults besides the record limit and the log. */
export const SOURCE_TIMING = {
  filePollMs: 100,
  devicePollMs: 10,
  fifoCheckMs: 1000,
  retryMinMs: 100,
  retryMaxMs: 10_000,
};

/** A source as written in the config file or a `source.add` call, not yet checked. */
export interface SourceArgs {
  name?: unknown;
  path?: unknown;
  command?: unknown;
  subject?: unknown;
  framing?: unknown;
  from?: unknown;
}

function bad(
  message: string,
  code: typeof ErrorCode.PROTOCOL | typeof ErrorCode.BAD_SUBJECT = ErrorCode.PROTOCOL,
): BusError {
  return new BusError(code, message);
}

/** Checks source arguments; throws BusError naming the argument. */
export function sourceSpec(args: SourceArgs, op = 'source.add'): SourceSpec {
  const { name, path, command, subject, framing, from } = args;
  if (typeof name !== 'string') throw bad(`${op}: name must be a text string`);
  const problem = daemonNameProblem('source', name);
  if (problem !== null) throw bad(`${op}: ${problem}`, ErrorCode.BAD_SUBJECT);
  if ((path === undefined) === (command === undefined))
    throw bad(`${op} ${name}: give exactly one of path and command`);
  if (path !== undefined && (typeof path !== 'string' || !isAbsolute(path) || path.length > 4096))
    throw bad(`${op} ${name}: path must be an absolute path`);
  if (
    command !== undefined &&
    (typeof command !== 'string' || command === '' || command.length > 4096)
  )
    throw bad(`${op} ${name}: command must be a non-empty text string`);
  if (typeof subject !== 'string') throw bad(`${op} ${name}: subject must be a text string`);
  const sp = subjectProblem(subject, false);
  if (sp !== null) throw bad(`${op} ${name}: ${sp}`, ErrorCode.BAD_SUBJECT);
  if (isDaemonSubject(subject))
    throw new BusError(
      ErrorCode.PERMISSION,
      `${op} ${name}: ${subject} is the daemon's own subject`,
    );
  const f = parseFraming(
    framing === undefined ? 'line' : typeof framing === 'string' ? framing : '?',
  );
  if (typeof f === 'string') throw bad(`${op} ${name}: ${f}`);
  if (from !== undefined && from !== 'start' && from !== 'end')
    throw bad(`${op} ${name}: from must be "start" or "end"`);
  return {
    name,
    path: path,
    command: command,
    subject,
    framing: f,
    fromStart: from === 'start',
  };
}

export class SourceTable implements SourceHost {
  readonly #broker: Broker;
  readonly #options: SourceOptions;
  readonly #max: number;
  readonly #sources = new Map<string, EventSource>();

  constructor(broker: Broker, options: SourceOptions, max = DEFAULT_MAX_SOURCES) {
    this.#broker = broker;
    this.#options = options;
    this.#max = max;
  }

  get size(): number {
    return this.#sources.size;
  }

  /**
   * Adds and opens a source. At run time (`mustExist`) a path that cannot be used now is an
   * error; from the config file it is retried (a device not plugged in yet).
   */
  addSpec(spec: SourceSpec, mustExist: boolean): SourceInfo {
    if (this.#sources.has(spec.name))
      throw new BusError(ErrorCode.CONFLICT, `source.add: a source ${spec.name} exists already`, {
        detail: { name: spec.name },
      });
    if (this.#sources.size >= this.#max)
      throw new BusError(
        ErrorCode.LIMIT,
        `source.add ${spec.name}: the daemon reads ${this.#max} sources already (--max-sources)`,
      );
    if (mustExist && spec.path !== undefined) {
      const kind = pathKind(spec.path);
      if (kind !== 'fifo' && kind !== 'device' && kind !== 'file')
        throw new BusError(ErrorCode.NOT_FOUND, `source.add ${spec.name}: ${kind}`, {
          detail: { name: spec.name },
        });
    }
    const source = new EventSource(spec, this.#broker, this.#options);
    this.#sources.set(spec.name, source);
    source.start();
    this.#options.log(`source ${spec.name}: ${source.where} -> ${spec.subject}`);
    return source.info();
  }

  add(args: Obj): SourceInfo {
    return this.addSpec(sourceSpec(args), true);
  }

  remove(name: string): SourceInfo {
    const source = this.#sources.get(name);
    if (source === undefined)
      throw new BusError(ErrorCode.NOT_FOUND, `source.rm: no source ${name}`, { detail: { name } });
    source.close();
    this.#sources.delete(name);
    this.#options.log(`source ${name}: removed`);
    this.#broker.sysEvent(`$SYS.source.${name}`, { source: name, event: 'removed' });
    return source.info();
  }

  list(): SourceInfo[] {
    return [...this.#sources.values()]
      .map((s) => s.info())
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Closes every source (the daemon stops). */
  closeAll(): void {
    for (const s of this.#sources.values()) s.close();
    this.#sources.clear();
  }
}
