// Connections refused for want of resources: accept() failures the transport reports (EMFILE,
// ENFILE, ...) and connections past maxConnections. A counter for status and a log line at most
// once a second that says how many were refused since the last one. Imports only protocol/.

import type { Clock, TimerHandle } from '../protocol/clock.js';

/** At most one log line per this many ms. */
const LOG_EVERY_MS = 1000;

const WHY: Record<string, string> = {
  EMFILE: 'the daemon is out of file descriptors (ulimit -n)',
  ENFILE: 'the system is out of file descriptors (fs.file-max)',
  ENOMEM: 'out of memory',
  ENOBUFS: 'out of socket buffers',
};

export class AcceptErrors {
  /** Accept failures since the daemon started. */
  count = 0;
  readonly #clock: Clock;
  readonly #log: (line: string) => void;
  #loggedAt = -Infinity;
  /** Failures not yet reported in a log line, and why the last one happened. */
  #unlogged = 0;
  #why = '';
  #timer: TimerHandle;

  constructor(clock: Clock, log: (line: string) => void) {
    this.#clock = clock;
    this.#log = log;
  }

  /** accept() failed with errno `code` (EMFILE, ...). */
  acceptFailed(code: string): void {
    this.note(`${code} (${WHY[code] ?? 'the kernel refused it'})`);
  }

  /** One connection was refused; `why` goes in the log line. */
  note(why: string): void {
    this.count++;
    this.#unlogged++;
    this.#why = why;
    const wait = this.#loggedAt + LOG_EVERY_MS - this.#clock.now();
    if (wait <= 0) this.#report();
    else this.#timer ??= this.#clock.setTimeout(() => this.#report(), wait);
  }

  /** Stops the pending summary (shutdown). */
  stop(): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #report(): void {
    this.#timer = undefined;
    if (this.#unlogged === 0) return;
    const n = this.#unlogged;
    this.#log(
      `cannot accept connections: ${this.#why}; ${n} refused since the last line, ` +
        `${this.count} in total; still serving`,
    );
    this.#unlogged = 0;
    this.#loggedAt = this.#clock.now();
  }
}
