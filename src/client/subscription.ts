// A subscription (or responder registration) on the client side: callback or async iterator,
// counters, and `gap` events when the daemon reports lost messages. Imports only protocol/.

import { EventEmitter } from 'node:events';
import type { SlowPolicyValue } from '../protocol/constants.js';
import type { MsgFields } from '../protocol/delivery-frames.js';

/** A delivered message. `data` is a view into the received bytes: copy it to keep it past the callback if you mutate buffers. */
export type Msg = MsgFields;

/** A GAP notice: `lost` messages of this subscription were dropped by the daemon. */
export interface GapInfo {
  subject: string;
  lost: number;
  firstId: number;
  lastId: number;
}

/** Options of `subscribe`. */
export interface SubscribeOptions {
  /** Queue group: each message goes to one member of the group. */
  queue?: string;
  /** What the daemon does when this subscriber cannot keep up. Default `disconnect`. */
  onSlow?: SlowPolicyValue;
}

/**
 * Messages on a subject pattern. Consume with the callback given to `subscribe`, or with
 * `for await (const msg of sub)`. Emits `gap` (GapInfo) when the daemon reports lost messages.
 */
export class Subscription extends EventEmitter implements AsyncIterable<Msg> {
  readonly sid: number;
  readonly subject: string;
  readonly queue: string | undefined;
  readonly onSlow: SlowPolicyValue | undefined;
  /** Messages delivered to this subscription. */
  received = 0;
  /** Messages the daemon reported lost for this subscription (sum of GAP notices). */
  dropped = 0;
  #callback: ((msg: Msg) => void) | undefined;
  #buffer: Msg[] = [];
  #head = 0;
  #wake: (() => void) | undefined;
  #closed = false;
  #unsubscribe: (sub: Subscription) => void;

  /** @internal */
  constructor(
    sid: number,
    subject: string,
    options: SubscribeOptions,
    callback: ((msg: Msg) => void) | undefined,
    unsubscribe: (sub: Subscription) => void,
    onUserError: (err: unknown) => void = (err) => {
      throw err;
    },
  ) {
    super();
    this.sid = sid;
    this.subject = subject;
    this.queue = options.queue;
    this.onSlow = options.onSlow;
    this.#callback = callback;
    this.#unsubscribe = unsubscribe;
    this.#onUserError = onUserError;
  }

  #onUserError: (err: unknown) => void;

  get closed(): boolean {
    return this.#closed;
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
    this.#buffer.push(msg);
    const wake = this.#wake;
    if (wake !== undefined) {
      this.#wake = undefined;
      wake();
    }
  }

  /** @internal reports lost messages. */
  gap(info: GapInfo): void {
    this.dropped += info.lost;
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
          const msg = this.#buffer[this.#head++]!;
          if (this.#head > 1024 && this.#head * 2 > this.#buffer.length) {
            this.#buffer = this.#buffer.slice(this.#head);
            this.#head = 0;
          }
          yield msg;
          continue;
        }
        if (this.#closed) return;
        await new Promise<void>((resolve) => (this.#wake = resolve));
      }
    } finally {
      // Leaving the loop early (break, return, throw) ends the subscription.
      if (!this.#closed) this.unsubscribe();
    }
  }
}
