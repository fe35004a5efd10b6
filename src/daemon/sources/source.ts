// One event source: a reader (readers.ts) feeding a record splitter (framing.ts) whose records
// are published on the source's subject through a broker producer, so flow control pauses the
// reader while a subscriber is behind. A reader that fails is closed and opened again after a
// backoff (100 ms doubling to 10 s; back to 100 ms once bytes flow), and each change is reported
// on `$SYS.source.<name>`. Imports broker/, protocol/ and node.

import { statSync } from 'node:fs';
import type { Broker, DaemonProducer } from '../../broker/index.js';
import type { SourceInfo } from '../../protocol/commands.js';
import { encodeExtras, type EncodedExtras } from '../../protocol/extras.js';
import { FramingError, RecordSplitter, framingText, type Framing } from './framing.js';
import { openFifo, openPolled, runCommand, type PollTiming, type Reader } from './readers.js';

/** What a source reads and where its records go. */
export interface SourceSpec {
  /** 1 to 64 of `A-Z a-z 0-9 _ -`. */
  name: string;
  /** An absolute path (FIFO, character device or regular file), or undefined with `command`. */
  path: string | undefined;
  /** A command run with /bin/sh -c whose stdout is read. */
  command: string | undefined;
  subject: string;
  framing: Framing;
  /** Regular files: start at their current end (like `tail -F -n 0`, the default) or start. */
  fromStart: boolean;
}

export type SourceKind = SourceInfo['kind'];
export type { SourceInfo };

/** Timing and limits of sources. */
export interface SourceOptions extends PollTiming {
  /** The largest record, bytes (line and lp framing). */
  maxRecord: number;
  /** How often a FIFO's path is checked to still name it, ms. */
  fifoCheckMs: number;
  /** The first and the longest wait before reopening a failed source, ms. */
  retryMinMs: number;
  retryMaxMs: number;
  log: (line: string) => void;
}

/** The kind of source `path` is now, or a message saying why it cannot be one. */
export function pathKind(path: string): string {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    return `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  if (st.isFIFO()) return 'fifo';
  if (st.isCharacterDevice()) return 'device';
  if (st.isFile()) return 'file';
  return `${path} is not a FIFO, a character device or a regular file`;
}

export class EventSource {
  readonly spec: SourceSpec;
  readonly #broker: Broker;
  readonly #o: SourceOptions;
  readonly #producer: DaemonProducer;
  readonly #splitter: RecordSplitter;
  readonly #extras: EncodedExtras;
  readonly #chunks: Uint8Array[] = [];
  readonly #emit = (record: Uint8Array): boolean => this.#publish(record);
  #kind: SourceKind;
  #reader: Reader | undefined;
  #state: SourceInfo['state'] = 'opening';
  #flowPaused = false;
  #retryMs: number;
  #retryTimer: NodeJS.Timeout | undefined;
  #resumeQueued = false;
  #records = 0;
  #bytes = 0;
  #unrouted = 0;
  #failures = 0;
  #lastError: string | null = null;
  /** Bumped at each open, so events of a reader already replaced are ignored. */
  #generation = 0;

  constructor(spec: SourceSpec, broker: Broker, options: SourceOptions) {
    this.spec = spec;
    this.#broker = broker;
    this.#o = options;
    this.#retryMs = options.retryMinMs;
    this.#kind = spec.command !== undefined ? 'command' : 'file';
    this.#splitter = new RecordSplitter(spec.framing, options.maxRecord);
    this.#extras = encodeExtras({
      headers: { source: spec.name, [spec.command !== undefined ? 'command' : 'path']: this.where },
    });
    this.#producer = broker.producer({
      pause: () => {
        this.#flowPaused = true;
        this.#reader?.pause();
      },
      resume: () => {
        this.#flowPaused = false;
        this.#queueResume();
      },
    });
  }

  get where(): string {
    return this.spec.command ?? this.spec.path ?? '';
  }

  /** Opens the source (failures are retried, never thrown). */
  start(): void {
    void this.#open();
  }

  info(): SourceInfo {
    const state =
      this.#state === 'open' && (this.#flowPaused || this.#chunks.length > 0)
        ? 'paused'
        : this.#state;
    return {
      name: this.spec.name,
      kind: this.#kind,
      path: this.where,
      subject: this.spec.subject,
      framing: framingText(this.spec.framing),
      state,
      records: this.#records,
      bytes: this.#bytes,
      unrouted: this.#unrouted,
      oversized: this.#splitter.oversized,
      failures: this.#failures,
      lastError: this.#lastError,
    };
  }

  /** Stops reading for good. */
  close(): void {
    this.#state = 'closed';
    this.#generation++;
    clearTimeout(this.#retryTimer);
    this.#reader?.close();
    this.#reader = undefined;
    this.#chunks.length = 0;
    this.#producer.close();
  }

  #event(event: string, extra: Record<string, unknown> = {}): void {
    this.#broker.sysEvent(`$SYS.source.${this.spec.name}`, {
      source: this.spec.name,
      event,
      path: this.where,
      ...extra,
    });
  }

  async #open(): Promise<void> {
    const gen = ++this.#generation;
    const spec = this.spec;
    const ev = {
      data: (chunk: Uint8Array) => {
        if (gen === this.#generation) this.#data(chunk);
      },
      failed: (why: string) => {
        if (gen === this.#generation) this.#failed(why);
      },
      notice: (event: string) => {
        if (gen !== this.#generation) return;
        this.#o.log(`source ${spec.name}: ${spec.path ?? ''} was ${event}`);
        this.#event(event);
      },
    };
    this.#state = 'opening';
    let reader: Reader;
    try {
      if (spec.command !== undefined) {
        reader = runCommand(spec.command, ev, (line) =>
          this.#o.log(`source ${spec.name}: stderr: ${line}`),
        );
      } else {
        const kind = pathKind(spec.path!);
        if (kind !== 'fifo' && kind !== 'device' && kind !== 'file') throw new Error(kind);
        this.#kind = kind;
        reader =
          kind === 'fifo'
            ? await openFifo(spec.path!, ev, this.#o.fifoCheckMs)
            : await openPolled(spec.path!, kind === 'device', !spec.fromStart, ev, this.#o);
      }
    } catch (err) {
      if (gen === this.#generation) this.#failed((err as Error).message);
      return;
    }
    if (gen !== this.#generation) {
      reader.close();
      return;
    }
    this.#reader = reader;
    this.#state = 'open';
    if (this.#flowPaused) reader.pause();
    this.#event('open', { kind: this.#kind });
  }

  #failed(why: string): void {
    this.#generation++;
    this.#reader?.close();
    this.#reader = undefined;
    this.#chunks.length = 0;
    this.#splitter.reset();
    this.#failures++;
    this.#lastError = why;
    this.#state = 'retrying';
    const wait = this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, this.#o.retryMaxMs);
    this.#o.log(`source ${this.spec.name}: ${why}; reopening in ${wait} ms`);
    this.#event('error', { error: why, retryMs: wait });
    this.#retryTimer = setTimeout(() => void this.#open(), wait);
  }

  #data(chunk: Uint8Array): void {
    this.#bytes += chunk.length;
    this.#retryMs = this.#o.retryMinMs;
    this.#chunks.push(chunk);
    this.#pump();
  }

  /** Splits what is held into records while no subscriber holds the source paused. */
  #pump(): void {
    const splitter = this.#splitter;
    if (this.#flowPaused) {
      this.#reader?.pause();
      return;
    }
    try {
      for (;;) {
        if (!splitter.holding) {
          const next = this.#chunks.shift();
          if (next === undefined) break;
          splitter.push(next);
        }
        splitter.run(this.#emit);
        if (splitter.holding) break; // paused between two records
      }
    } catch (err) {
      if (!(err instanceof FramingError)) throw err;
      this.#failed(err.message);
      return;
    }
    if (splitter.holding || this.#chunks.length > 0) this.#reader?.pause();
  }

  #publish(record: Uint8Array): boolean {
    this.#records++;
    if (this.#producer.publish(this.spec.subject, record, this.#extras) === 0) this.#unrouted++;
    return !this.#producer.paused;
  }

  /**
   * Flow control resumed the source. Not at once: resume() is called while the broker walks its
   * waiters, and publishing then could pause the source again in the middle of that walk.
   */
  #queueResume(): void {
    if (this.#resumeQueued) return;
    this.#resumeQueued = true;
    setImmediate(() => {
      this.#resumeQueued = false;
      if (this.#flowPaused || this.#state === 'closed') return;
      this.#pump();
      if (!this.#flowPaused && !this.#splitter.holding && this.#chunks.length === 0)
        this.#reader?.resume();
    });
  }
}
