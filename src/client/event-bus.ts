// EventBus: an EventEmitter-shaped adapter over a Client: emit() publishes, on()/once() subscribe,
// values encoded by a codec (JSON by default, raw bytes, CBOR, or your own). A payload the codec
// cannot decode is reported (onError, else the client's 'error' listeners) and skipped: it never
// throws inside the client's message callback. Imports client/ and protocol/.

import { decodeCbor, encodeCbor } from '../protocol/cbor.js';
import { BusError, ErrorCode } from '../protocol/errors.js';
import type { Client } from './client.js';
import type { Msg, Subscription } from './subscription.js';

/** Turns values into payloads and back. `decode` throws for a payload it cannot read. */
export interface EventCodec {
  readonly name: string;
  encode(value: unknown): Uint8Array | string;
  decode(data: Uint8Array): unknown;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The built-in codecs: `json` (the default), `raw` (bytes in, bytes out) and `cbor`. */
export const EventCodecs: Readonly<Record<'json' | 'raw' | 'cbor', EventCodec>> = {
  json: {
    name: 'json',
    encode: (value) => JSON.stringify(value ?? null),
    decode: (data) => JSON.parse(utf8.decode(data)) as unknown,
  },
  raw: {
    name: 'raw',
    encode: (value) => {
      if (value instanceof Uint8Array || typeof value === 'string') return value;
      throw new TypeError('EventBus (raw codec): emit a Uint8Array or a string');
    },
    decode: (data) => data.slice(),
  },
  cbor: {
    name: 'cbor',
    encode: (value) => encodeCbor(value),
    // Strict CBOR (docs/PROTOCOL.md section 8): no tags, bounded depth and size.
    decode: (data) => decodeCbor(data),
  },
};

export interface EventBusOptions {
  /** How values travel: 'json' (default), 'raw', 'cbor', or an EventCodec of your own. */
  codec?: 'json' | 'raw' | 'cbor' | EventCodec;
  /**
   * Called for a message the codec cannot decode (its listener is skipped), or a listener that
   * throws. Default: the client's 'error' event (a process warning when nobody listens).
   */
  onError?: (err: BusError, msg: Msg) => void;
}

type Listener = (value: unknown, subject: string, msg: Msg) => void;

/** `bus.emit('user.login', obj)` publishes; `bus.on('user.*', fn)` subscribes. */
export class EventBus {
  readonly client: Client;
  readonly codec: EventCodec;
  /** Messages whose payload the codec could not decode (their listeners were skipped). */
  decodeErrors = 0;
  readonly #onError: ((err: BusError, msg: Msg) => void) | undefined;
  #subs = new Map<Listener, Subscription[]>();

  constructor(client: Client, options: EventBusOptions = {}) {
    this.client = client;
    const c = options.codec ?? 'json';
    this.codec = typeof c === 'string' ? EventCodecs[c] : c;
    if (this.codec === undefined) throw new TypeError(`EventBus: unknown codec ${JSON.stringify(c)}`);
    this.#onError = options.onError;
  }

  /** Publishes `value`, encoded; returns what `publish` returns (and throws what it throws). */
  emit(subject: string, value: unknown): boolean {
    return this.client.publish(subject, this.codec.encode(value));
  }

  /** Calls `listener(value, subject, msg)` for every message on `pattern`. */
  on(pattern: string, listener: Listener): this {
    this.#listen(pattern, listener, false);
    return this;
  }

  /** Like on(), for the first message only; resolves with that message's value too. */
  once(pattern: string, listener?: Listener): Promise<unknown> {
    return new Promise((resolve) => {
      this.#listen(
        pattern,
        (value, subject, msg) => {
          resolve(value);
          listener?.(value, subject, msg);
        },
        true,
        listener,
      );
    });
  }

  /** Ends the subscriptions made by on()/once() with this pattern and listener. */
  off(pattern: string, listener: Listener): this {
    const list = this.#subs.get(listener);
    if (list === undefined) return this;
    for (const sub of list.filter((s) => s.subject === pattern)) sub.unsubscribe();
    const rest = list.filter((s) => s.subject !== pattern);
    if (rest.length > 0) this.#subs.set(listener, rest);
    else this.#subs.delete(listener);
    return this;
  }

  #listen(pattern: string, listener: Listener, once: boolean, key: Listener = listener): void {
    let done = false;
    const sub = this.client.subscribe(pattern, (msg) => {
      if (done) return;
      let value: unknown;
      try {
        value = this.codec.decode(msg.data);
      } catch (err) {
        this.decodeErrors++;
        this.#report(
          new BusError(
            ErrorCode.PROTOCOL,
            `EventBus: the message on ${msg.subject} is not ${this.codec.name}: ${(err as Error).message}`,
            { detail: { subject: msg.subject, codec: this.codec.name }, cause: err },
          ),
          msg,
        );
        return;
      }
      if (once) {
        done = true;
        this.#forget(key, sub);
      }
      try {
        listener(value, msg.subject, msg);
      } catch (err) {
        this.#report(
          new BusError(
            ErrorCode.PROTOCOL,
            `EventBus: a listener on ${pattern} threw: ${(err as Error).message}`,
            { detail: { subject: msg.subject }, cause: err },
          ),
          msg,
        );
      }
    });
    const list = this.#subs.get(key) ?? [];
    list.push(sub);
    this.#subs.set(key, list);
  }

  #forget(key: Listener, sub: Subscription): void {
    sub.unsubscribe();
    const rest = (this.#subs.get(key) ?? []).filter((s) => s !== sub);
    if (rest.length > 0) this.#subs.set(key, rest);
    else this.#subs.delete(key);
  }

  #report(err: BusError, msg: Msg): void {
    if (this.#onError !== undefined) this.#onError(err, msg);
    else if (this.client.listenerCount('error') > 0) this.client.emit('error', err);
    else process.emitWarning(`udsbus: ${err.code}: ${err.message}`);
  }
}
