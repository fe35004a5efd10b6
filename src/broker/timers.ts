// Daemon timers: named, owned by the daemon (they outlive the client that started them), each
// publishing ticks on a subject. Drift-free: tick N is due at start + N × interval, computed from
// the start time, never from the previous tick; a tick that fires late says how late, and ticks
// more than a whole interval late are skipped and counted, never sent in a bunch.
// docs/PROTOCOL.md section 10.13. Imports only protocol/.

import type { Clock, TimerHandle } from '../protocol/clock.js';
import type { TimerInfo } from '../protocol/commands.js';
import { BusError, ErrorCode } from '../protocol/errors.js';

export type { TimerInfo } from '../protocol/commands.js';

/** What starts a timer. */
export interface TimerSpec {
  /** 1 to 64 of `A-Z a-z 0-9 _ -`. */
  name: string;
  intervalMs: number;
  /** Where ticks are published (default `timer.<name>`). */
  subject: string;
  /** Ticks in all (0: until stopped). */
  count: number;
}

/** One tick, as handed to the publisher. */
export interface Tick {
  timer: TimerInfo;
  /** Sequence number N (1-based): due at startedAt + N × intervalMs. */
  seq: number;
  /** When it was due, ms since the epoch. */
  due: number;
  /** How long after `due` it fired, ms (0 on time). */
  late: number;
  /** Ticks before this one that were skipped because they were more than an interval late. */
  skipped: number;
  /** True for the last tick of a timer with a count. */
  last: boolean;
}

/** Limits of the timer table. */
export interface TimerLimits {
  maxTimers: number;
  minIntervalMs: number;
}

/** The longest interval, ms (one day). */
export const MAX_TIMER_INTERVAL_MS = 86_400_000;

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Why `name` cannot name a timer or an event source, or null. */
export function daemonNameProblem(what: string, name: string): string | null {
  return NAME.test(name)
    ? null
    : `${what} name ${JSON.stringify(name.slice(0, 80))} must be 1 to 64 of A-Z a-z 0-9 _ -`;
}

interface Entry {
  info: TimerInfo;
  owner: number | undefined;
  handle: TimerHandle;
}

/** The daemon's timers. */
export class Timers {
  readonly #clock: Clock;
  readonly #limits: TimerLimits;
  readonly #onTick: (t: Tick) => void;
  readonly #timers = new Map<string, Entry>();

  constructor(clock: Clock, limits: TimerLimits, onTick: (t: Tick) => void) {
    this.#clock = clock;
    this.#limits = limits;
    this.#onTick = onTick;
  }

  get size(): number {
    return this.#timers.size;
  }

  /**
   * Starts a timer; `owner` is the uid that may stop it (besides the daemon's and root). Throws
   * BusError: CONFLICT when the name is taken (unless `replace`), LIMIT past maxTimers or below
   * the shortest interval.
   */
  start(spec: TimerSpec, owner: number | undefined, replace = false): TimerInfo {
    const problem = daemonNameProblem('timer', spec.name);
    if (problem !== null) throw new BusError(ErrorCode.BAD_SUBJECT, `timer.start: ${problem}`);
    const { minIntervalMs, maxTimers } = this.#limits;
    if (
      !Number.isInteger(spec.intervalMs) ||
      spec.intervalMs < minIntervalMs ||
      spec.intervalMs > MAX_TIMER_INTERVAL_MS
    ) {
      throw new BusError(
        ErrorCode.LIMIT,
        `timer.start ${spec.name}: intervalMs must be an integer from ${minIntervalMs} to ${MAX_TIMER_INTERVAL_MS} (got ${spec.intervalMs})`,
        { detail: { name: spec.name } },
      );
    }
    const old = this.#timers.get(spec.name);
    if (old !== undefined && !replace) {
      throw new BusError(
        ErrorCode.CONFLICT,
        `timer.start: a timer ${spec.name} is already running (stop it first, or replace)`,
        { detail: { name: spec.name } },
      );
    }
    if (old === undefined && this.#timers.size >= maxTimers) {
      throw new BusError(
        ErrorCode.LIMIT,
        `timer.start ${spec.name}: the daemon runs ${maxTimers} timers already (maxTimers)`,
        { detail: { name: spec.name } },
      );
    }
    if (old !== undefined) this.#clock.clearTimeout(old.handle);
    const info: TimerInfo = {
      ...spec,
      sent: 0,
      skipped: 0,
      maxLateMs: 0,
      startedAt: this.#clock.now(),
      next: 1,
    };
    const entry: Entry = { info, owner, handle: undefined };
    this.#timers.set(spec.name, entry);
    this.#arm(entry);
    return { ...info };
  }

  /** The uid that started timer `name` (undefined: unknown or the daemon's config), or null if none runs. */
  owner(name: string): number | undefined | null {
    const e = this.#timers.get(name);
    return e === undefined ? null : e.owner;
  }

  /** Stops timer `name`; returns what it was, or undefined when no such timer runs. */
  stop(name: string): TimerInfo | undefined {
    const e = this.#timers.get(name);
    if (e === undefined) return undefined;
    this.#clock.clearTimeout(e.handle);
    this.#timers.delete(name);
    return { ...e.info };
  }

  /** Every running timer, by name. */
  list(): TimerInfo[] {
    return [...this.#timers.values()]
      .map((e) => ({ ...e.info }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Stops every timer (shutdown). */
  stopAll(): void {
    for (const e of this.#timers.values()) this.#clock.clearTimeout(e.handle);
    this.#timers.clear();
  }

  #arm(e: Entry): void {
    const due = e.info.startedAt + e.info.next * e.info.intervalMs;
    const delay = Math.max(0, due - this.#clock.now());
    e.handle = this.#clock.setTimeout(() => this.#fire(e), delay);
  }

  #fire(e: Entry): void {
    if (this.#timers.get(e.info.name) !== e) return;
    const info = e.info;
    const now = this.#clock.now();
    // The latest tick due by now; the ones before it (and after `next`) are skipped.
    let seq = Math.max(info.next, Math.floor((now - info.startedAt) / info.intervalMs));
    if (info.count > 0) seq = Math.min(seq, info.count);
    const due = info.startedAt + seq * info.intervalMs;
    const late = Math.max(0, now - due);
    const skipped = seq - info.next;
    info.sent++;
    info.skipped += skipped;
    info.maxLateMs = Math.max(info.maxLateMs, late);
    info.next = seq + 1;
    const last = info.count > 0 && seq >= info.count;
    if (last) this.#timers.delete(info.name);
    else this.#arm(e);
    this.#onTick({ timer: info, seq, due, late, skipped, last });
  }
}
