// Time as the broker and the client see it: a clock and timer functions, passed in through
// options so tests can drive time by hand. Imports nothing; uses the runtime's global timers.

/** A timer handle, opaque to its user. */
export type TimerHandle = unknown;

/** The time source and timers a component uses. */
export interface Clock {
  /** Milliseconds since the epoch (or any fixed origin). */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle): void;
  /** Runs `fn` soon, after the I/O of the current event-loop turn (setImmediate). Optional. */
  defer?(fn: () => void): void;
}

type Unrefable = { unref?: () => unknown };

/** The real clock: Date.now and the global timers, unref'd so they never keep a process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms) as Unrefable;
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as Parameters<typeof clearTimeout>[0]),
  setInterval: (fn, ms) => {
    const t = setInterval(fn, ms) as Unrefable;
    t.unref?.();
    return t;
  },
  clearInterval: (h) => clearInterval(h as Parameters<typeof clearInterval>[0]),
  defer: (fn) => {
    setImmediate(fn);
  },
};

/**
 * A clock that moves only when told: `advance(ms)` runs every timer due by then, in order.
 * For tests of timeouts, keepalive, backoff and pacing without sleeping.
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers = new Map<number, { at: number; every: number; fn: () => void }>();

  constructor(start = 1_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), every: 0, fn });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as number);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    const id = ++this.#seq;
    const every = Math.max(1, ms);
    this.#timers.set(id, { at: this.#now + every, every, fn });
    return id;
  }

  clearInterval(handle: TimerHandle): void {
    this.#timers.delete(handle as number);
  }

  /** Runs `fn` in a microtask: deferred work does not wait for time to move. */
  defer(fn: () => void): void {
    queueMicrotask(fn);
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, running each timer when its time comes (earliest first). */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let nextId = -1;
      let nextAt = Infinity;
      for (const [id, t] of this.#timers) {
        if (t.at < nextAt || (t.at === nextAt && id < nextId)) {
          nextAt = t.at;
          nextId = id;
        }
      }
      if (nextId < 0 || nextAt > end) break;
      const t = this.#timers.get(nextId)!;
      this.#now = Math.max(this.#now, t.at);
      if (t.every > 0) t.at += t.every;
      else this.#timers.delete(nextId);
      t.fn();
    }
    this.#now = end;
  }
}
