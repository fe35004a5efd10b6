// The results of the daemon commands `timer.*`, `trigger` and `source.*` (docs/PROTOCOL.md
// section 6.12), as the daemon builds them and clients read them. Types only. Imports nothing.

/** A daemon timer, as `timer.start`, `timer.stop` and `timer.ls` answer it. */
export interface TimerInfo {
  name: string;
  intervalMs: number;
  /** Where its ticks are published (default `timer.<name>`). */
  subject: string;
  /** Ticks in all; 0: until stopped. */
  count: number;
  /** Ticks published so far. */
  sent: number;
  /** Ticks not sent because they came more than an interval late. */
  skipped: number;
  /** The latest a tick was sent after its due time, ms. */
  maxLateMs: number;
  /** When the timer started (tick N is due at startedAt + N × intervalMs), ms since the epoch. */
  startedAt: number;
  /** The sequence number of the next tick. */
  next: number;
}

/** What `trigger` answers. */
export interface TriggerResult {
  /** `event.<EVENT>`. */
  subject: string;
  /** Subscriptions (and queue groups) the event went to. */
  receivers: number;
}

/** An event source, as `source.add`, `source.rm` and `source.ls` answer it. */
export interface SourceInfo {
  name: string;
  kind: 'fifo' | 'device' | 'file' | 'command';
  /** The path, or the command. */
  path: string;
  subject: string;
  /** `line`, `lp` or `fixed:N`. */
  framing: string;
  /** opening, open, paused (by a subscriber that is behind), retrying (after a failure), closed. */
  state: 'opening' | 'open' | 'paused' | 'retrying' | 'closed';
  records: number;
  bytes: number;
  /** Records nobody was subscribed to. */
  unrouted: number;
  /** Lines dropped for being longer than the record limit. */
  oversized: number;
  /** Failures so far (each followed by a reopen). */
  failures: number;
  lastError: string | null;
}
