// A subscription (or responder registration) on the client side: callback or bounded async
// iterator (its own slow-consumer policy), counters, and `gap` events for messages lost in the
// daemon or in the iterator's buffer. Imports node:events and protocol/.

import { EventEmitter } from 'node:events';
import type { SlowPolicyValue } from '../protocol/constants.js';
import type { MsgFields } from '../protocol/delivery-frames.js';
import { BusError, ErrorCode } from '../protocol/errors.js';

/**
 * A delivered message. `data` is a view into the received bytes: copy it to keep it past the
 * callback if you mutate buffers. Fields are read from the frame when first used.
 */
export type Msg = MsgFields;

/** A GAP notice: `lost` messages of this subscription were dropped. */
export interface GapInfo {
  subject: string;
  lost: number;
  /** Id of the first and last message lost. */
  firstId: number;
  lastId: number;
  /**
   * false: the daemon dropped them (its queue for this client was full). true: this client
   * dropped them (an async iterator's buffer held `maxBuffered` messages), or `reconnect`.
   */
  local: boolean;
  /**
   * true: the link to the daemon was lost and is back. Messages published while this
   * subscription was not registered (a daemon restart, say) may be missing, and nobody can tell
   * how many: `lost`, `firstId` and `lastId` are 0.
   */
  reconnect: boolean;
}

/** What a subscription needs from its client. */
export interface SubscriptionSettings {
  queue: string | undefined;
  onSlow: SlowPolicyValue | undefined;
  maxBuffered: number;
  /** A watch: the daemon delivers current state values first (SUB `current`). */
  current?: boolean | undefined;
  /** A monitor (SUB `monitor`). */
  monitor?: boolean | undefined;
  callback: ((msg: Msg) => void) | undefined;
  unsubscribe: (sub: Subscription) => void;
  onUserError: (err: unknown) => void;
}

/**
 * Messages on a subject pattern. Consume with the callback given to `subscribe`, or with
 * `for await (const msg of sub)`. Emits `gap` (GapInfo) when messages were lost.
 */
export class Subscription extends EventEmitter implements AsyncIterable<Msg> {
  readonly sid: number;
  readonly subject: string;
  readonly queue: string | undefined;
  readonly onSlow: SlowPolicyValue | undefined;
  /** Messages the iterator may hold before `onSlow` applies in the client. */
  readonly maxBuffered: number;
  /** A watch: current state values are delivered first, at each (re)subscription. */
  readonly current: boolean;
  /** A monitor: gets copies of what is routed (SubscribeOptions.monitor). */
  readonly monitor: boolean;
  /** Messages delivered to this subscription (by the daemon). */
  received = 0;
  /** Messages the daemon reported lost for this subscription (sum of its GAP notices). */
  dropped = 0;
  /** Messages this client dropped from the iterator's full buffer. */
  droppedLocal = 0;
  #callback: ((msg: Msg) => void) | undefined;
  #unsubscribe: (sub: Subscription) => void;
  #onUserError: (err: unknown) => void;
  #buffer: (Msg | undefined)[] = [];
  #head = 0;
  #wake: (() => void) | undefined;
  #closed = false;
  /** Set when the iterator fell behind under `disconnect`: thrown once the buffer is read. */
  #failure: BusError | undefined;
  // Local losses not yet reported: reported in order, before the next message is yielded.
  #lossCount = 0;
  #lossFirst = 0;
  #lossLast = 0;

  /** @internal */
  constructor(sid: number, subject: string, settings: SubscriptionSettings) {
    super();
    this.sid = sid;
    this.subject = subject;
    this.queue = settings.queue;
    this.onSlow = settings.onSlow;
    this.maxBuffered = settings.maxBuffered;
    this.current = settings.current === true;
    this.monitor = settings.monitor === true;
    this.#callback = settings.callback;
    this.#unsubscribe = settings.unsubscribe;
    this.#onUserError = settings.onUserError;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Messages waiting in the iterator's buffer. */
  get buffered(): number {
    return this.#buffer.length - this.#head;
  }

  /** Stops the subscription; an async iterator over it ends. */
  unsubscribe(): void {
    if (this.#closed) return;
    this.#unsubscribe(this);
    this.end();
  }

  /** @internal delivers one message. */
  push(msg: Msg): void {
    if (this.#closed) return;
    this.received++;
    if (this.#callback !== undefined) {
      // A throwing callback is the application's bug, not the link's: report it, keep going.
      try {
        this.#callback(msg);
      } catch (err) {
        this.#onUserError(err);
      }
      return;
    }
    if (this.buffered >= this.maxBuffered) {
      switch (this.onSlow) {
        case 'drop-newest':
          this.#lose(msg);
          return;
        case 'drop-oldest': {
          const oldest = this.#buffer[this.#head]!;
          this.#buffer[this.#head++] = undefined;
          this.#compact();
          this.#lose(oldest);
          break;
        }
        default:
          // disconnect: like the daemon, end the subscription; the iterator reads what it holds,
          // then throws.
          this.#lose(msg);
          this.#failure = new BusError(
            ErrorCode.SLOW_CONSUMER,
            `the iterator over ${this.subject} fell ${this.maxBuffered} messages behind`,
            { detail: { sid: this.sid, subject: this.subject, local: true } },
          );
          this.unsubscribe();
          return;
      }
    }
    this.#buffer.push(msg);
    const wake = this.#wake;
    if (wake !== undefined) {
      this.#wake = undefined;
      wake();
    }
  }

  /** Drops the read slots at the front once they are most of the array. */
  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#buffer.length) {
      this.#buffer = this.#buffer.slice(this.#head);
      this.#head = 0;
    }
  }

  #lose(msg: Msg): void {
    this.droppedLocal++;
    const id = msg.id;
    if (this.#lossCount === 0) this.#lossFirst = id;
    this.#lossLast = id;
    this.#lossCount++;
  }

  #reportLoss(): void {
    if (this.#lossCount === 0) return;
    const info: GapInfo = {
      subject: this.subject,
      lost: this.#lossCount,
      firstId: this.#lossFirst,
      lastId: this.#lossLast,
      local: true,
      reconnect: false,
    };
    this.#lossCount = 0;
    this.#emitGap(info);
  }

  /** @internal the daemon reports lost messages. */
  gap(lost: number, firstId: number, lastId: number): void {
    this.dropped += lost;
    this.#emitGap({ subject: this.subject, lost, firstId, lastId, local: false, reconnect: false });
  }

  /** @internal the link came back: losses of unknown number may lie behind. */
  reconnected(): void {
    this.#emitGap({
      subject: this.subject,
      lost: 0,
      firstId: 0,
      lastId: 0,
      local: true,
      reconnect: true,
    });
  }

  #emitGap(info: GapInfo): void {
    try {
      this.emit('gap', info);
    } catch (err) {
      this.#onUserError(err);
    }
  }

  /** @internal ends iteration (unsubscribe, close). */
  end(): void {
    this.#closed = true;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Msg> {
    if (this.#callback !== undefined)
      throw new TypeError('this subscription has a callback; it cannot be iterated');
    try {
      while (true) {
        if (this.#head < this.#buffer.length) {
          // Messages lost before this one are reported before it is seen.
          this.#reportLoss();
          const msg = this.#buffer[this.#head]!;
          this.#buffer[this.#head++] = undefined;
          this.#compact();
          yield msg;
          continue;
        }
        this.#reportLoss();
        if (this.#failure !== undefined) throw this.#failure;
        if (this.#closed) return;
        await new Promise<void>((resolve) => (this.#wake = resolve));
      }
    } finally {
      // Leaving the loop early (break, return, throw) ends the subscription.
      if (!this.#closed) this.unsubscribe();
    }
  }
}
