// Dispatch of what the daemon sends after the handshake: MSG to subscriptions, responders and
// direct handlers; REPLY and CALL_REPLY to their waiters; GAP, PING/PONG, ERROR. Imports protocol/
// and client/ types.

import type { EventEmitter } from 'node:events';
import { BusError, ErrorCode } from '../protocol/errors.js';
import { Flag, Op, hex2 } from '../protocol/constants.js';
import { DAEMON_REPLY_LIMITS } from '../protocol/cbor.js';
import { decodeCallReply, decodeError, errorFromFrame } from '../protocol/control-frames.js';
import { decodeGap, decodeReply } from '../protocol/delivery-frames.js';
import { MsgView } from '../protocol/msg-view.js';
import type { Connection } from './connection.js';
import type { PendingCalls, PendingRequests } from './requests.js';
import type { Registry } from './registry.js';
import type { Responder } from './responder.js';
import type { Msg } from './subscription.js';

/** The client state inbound frames act on. */
export interface InboundParts {
  readonly registry: Registry;
  readonly requests: PendingRequests;
  readonly calls: PendingCalls;
  readonly responder: Responder;
  readonly connection: Connection;
  /** The client: emits `direct` and `error`. */
  readonly events: EventEmitter;
}

/** Routes each frame body `buf[start..end)` to where it belongs. */
export class Inbound {
  /** Messages received (subscriptions, direct, replies). */
  received = 0;
  #t: InboundParts;
  #direct: ((msg: Msg) => void)[] = [];

  constructor(parts: InboundParts) {
    this.#t = parts;
  }

  /** Calls `handler` for every direct or broadcast message; returns a function that stops it. */
  onDirect(handler: (msg: Msg) => void): () => void {
    this.#direct.push(handler);
    return () => {
      this.#direct = this.#direct.filter((h) => h !== handler);
    };
  }

  /**
   * An exception thrown by application code (a callback or listener) while a message was being
   * delivered. It never breaks the link: it goes to 'error' listeners, or is rethrown outside
   * the client's stack like any uncaught exception.
   */
  userError = (err: unknown): void => {
    const events = this.#t.events;
    if (events.listenerCount('error') > 0) events.emit('error', err);
    else
      setImmediate(() => {
        throw err;
      });
  };

  /** A non-fatal daemon error nobody else took: to 'error' listeners, else a process warning. */
  #report(err: BusError): void {
    const events = this.#t.events;
    if (events.listenerCount('error') > 0) events.emit('error', err);
    else process.emitWarning(`udsbus: ${err.code}: ${err.message}`);
  }

  #onDirect(msg: Msg): void {
    try {
      for (const h of this.#direct) h(msg);
      this.#t.events.emit('direct', msg);
    } catch (err) {
      this.userError(err);
    }
  }

  frame = (buf: Uint8Array, start: number, end: number): void => {
    const t = this.#t;
    const op = buf[start];
    if (op === Op.MSG) {
      // The hot path: one object per message, its fields read from the frame when used.
      this.#msg(new MsgView(buf, start, end));
      return;
    }
    const body = buf.subarray(start, end);
    switch (op) {
      case Op.REPLY:
        if (t.requests.settle(decodeReply(body))) this.received++;
        return;
      case Op.GAP: {
        const g = decodeGap(body);
        t.registry.subs.get(g.sid)?.gap(g.lost, g.firstId, g.lastId);
        return;
      }
      case Op.PONG:
        t.connection.pong();
        return;
      case Op.PING:
        t.connection.answerPing();
        return;
      case Op.CALL_REPLY: {
        const r = decodeCallReply(body, DAEMON_REPLY_LIMITS);
        const err = r.ok
          ? undefined
          : new BusError(r.code ?? ErrorCode.PROTOCOL, r.message ?? 'control call failed');
        t.calls.settle(r.cid, r.ok, r.result, err);
        return;
      }
      case Op.ERROR:
        this.#error(errorFromFrame(decodeError(body)));
        return;
      default:
        throw new BusError(ErrorCode.PROTOCOL, `unexpected op ${hex2(op ?? 0)} from the daemon`, {
          fatal: true,
        });
    }
  };

  #msg(msg: Msg): void {
    const t = this.#t;
    this.received++;
    const sid = msg.sid;
    if (sid === 0) {
      this.#onDirect(msg);
      return;
    }
    if ((msg.flags & Flag.REPLY) !== 0) {
      const handler = t.registry.serves.get(sid);
      if (handler !== undefined) t.responder.answer(handler, msg);
      return;
    }
    t.registry.subs.get(sid)?.push(msg);
  }

  #error(err: BusError): void {
    const t = this.#t;
    if (err.fatal) {
      // The daemon closes after SHUTDOWN and SLOW_CONSUMER; reconnect logic decides what next.
      t.connection.fatal(
        err,
        err.code === ErrorCode.SHUTDOWN || err.code === ErrorCode.SLOW_CONSUMER,
      );
      return;
    }
    const sid = err.detail?.['sid'];
    const refused = typeof sid === 'number' ? t.registry.subs.get(sid) : undefined;
    if (refused !== undefined) {
      // The daemon refused this subscription: end it, and tell its owner.
      t.registry.remove(refused.sid);
      refused.end();
      if (refused.listenerCount('error') > 0) {
        refused.emit('error', err);
        return;
      }
    }
    this.#report(err);
  }
}
