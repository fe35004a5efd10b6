// The responder side of request/reply: runs a `serve` handler for a request MSG and sends its
// result (or its failure) back as a RES. Imports protocol/ only.

import { toBytes } from '../protocol/bytes.js';
import { ResStatus } from '../protocol/constants.js';
import type { MsgFields } from '../protocol/delivery-frames.js';
import type { MessageExtras } from '../protocol/extras.js';
import { encodeRes } from '../protocol/message-frames.js';

/** Returned by a `serve` handler: the reply payload, optionally with extras. */
export type ServeResult =
  | Uint8Array
  | string
  | { data: Uint8Array | string; type?: number; headers?: Record<string, string> };

/** A `serve` handler: its return value (or resolved value) is the reply. */
export type ServeHandler = (msg: MsgFields) => ServeResult | Promise<ServeResult>;

/** Answers requests: `send` queues a RES frame and throws when it cannot (queue full, closed). */
export class Responder {
  #send: (frame: Uint8Array) => void;

  constructor(send: (frame: Uint8Array) => void) {
    this.#send = send;
  }

  /**
   * Runs `handler` for the request `msg`. A throw or rejection becomes an ERROR reply with the
   * error's message. A RES that cannot be queued is dropped: the requester times out, and the
   * send queue counted it as dropped.
   */
  answer(handler: ServeHandler, msg: MsgFields): void {
    const token = msg.token;
    let result: ServeResult | Promise<ServeResult>;
    try {
      result = handler(msg);
    } catch (err) {
      this.#fail(token, err);
      return;
    }
    if (result instanceof Promise)
      result.then(
        (r) => this.#ok(token, r),
        (err: unknown) => this.#fail(token, err),
      );
    else this.#ok(token, result);
  }

  #ok(token: number, res: ServeResult): void {
    try {
      if (typeof res === 'string' || res instanceof Uint8Array)
        this.#reply(token, ResStatus.OK, toBytes(res));
      else
        this.#reply(token, ResStatus.OK, toBytes(res.data), {
          type: res.type,
          headers: res.headers,
        });
    } catch (err) {
      this.#fail(token, err);
    }
  }

  #fail(token: number, err: unknown): void {
    this.#reply(token, ResStatus.ERROR, toBytes(err instanceof Error ? err.message : String(err)));
  }

  #reply(token: number, status: number, data: Uint8Array, extras?: MessageExtras): void {
    let frame: Uint8Array;
    try {
      frame = encodeRes(token, status, data, extras);
    } catch (err) {
      // A reply that cannot be encoded (bad headers, too large) is the handler's failure.
      if (status === ResStatus.OK) this.#fail(token, err);
      return;
    }
    try {
      this.#send(frame);
    } catch {
      // queue full or closed: the requester times out; counted in metrics.dropped
    }
  }
}
