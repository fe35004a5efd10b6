// Dispatch of what the daemon sends after the handshake: MSG to subscriptions, responders and
// direct handlers; REPLY and CALL_REPLY to their waiters; GAP, PING/PONG, ERROR. Imports protocol/ only.

import { BusError, ErrorCode } from '../protocol/errors.js';
import { Flag, Op, hex2 } from '../protocol/constants.js';
import { decodeCallReply, decodeError, errorFromFrame } from '../protocol/control-frames.js';
import { decodeGap, decodeMsgAt, decodeReply } from '../protocol/delivery-frames.js';
import type { Connection } from './connection.js';
import type { PendingCalls, PendingRequests } from './requests.js';
import type { Responder, ServeHandler } from './responder.js';
import type { Msg, Subscription } from './subscription.js';

/** The client state inbound frames act on. */
export interface InboundTarget {
  readonly subs: Map<number, Subscription>;
  readonly serves: Map<number, ServeHandler>;
  readonly requests: PendingRequests;
  readonly calls: PendingCalls;
  readonly responder: Responder;
  readonly connection: Connection;
  /** Messages received (subscriptions, direct, replies). */
  received: number;
  /** A direct or broadcast message. */
  direct(msg: Msg): void;
  /** A non-fatal ERROR nobody else took. */
  report(err: BusError): void;
}

/** Routes each frame body `buf[start..end)` to where it belongs. */
export class Inbound {
  #t: InboundTarget;

  constructor(target: InboundTarget) {
    this.#t = target;
  }

  frame = (buf: Uint8Array, start: number, end: number): void => {
    const t = this.#t;
    const op = buf[start];
    if (op === Op.MSG) {
      // The hot path: decoded in place, no view of the whole body.
      this.#msg(decodeMsgAt(buf, start, end));
      return;
    }
    const body = buf.subarray(start, end);
    switch (op) {
      case Op.REPLY:
        if (t.requests.settle(decodeReply(body))) t.received++;
        return;
      case Op.GAP: {
        const g = decodeGap(body);
        t.subs.get(g.sid)?.gap(g.lost, g.firstId, g.lastId);
        return;
      }
      case Op.PONG:
        t.connection.pong();
        return;
      case Op.PING:
        t.connection.answerPing();
        return;
      case Op.CALL_REPLY: {
        const r = decodeCallReply(body);
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
    t.received++;
    const sid = msg.sid;
    if (sid === 0) {
      t.direct(msg);
      return;
    }
    if ((msg.flags & Flag.REPLY) !== 0) {
      const handler = t.serves.get(sid);
      if (handler !== undefined) t.responder.answer(handler, msg);
      return;
    }
    t.subs.get(sid)?.push(msg);
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
    const refused = typeof sid === 'number' ? t.subs.get(sid) : undefined;
    if (refused !== undefined) {
      // The daemon refused this subscription: end it, and tell its owner.
      t.subs.delete(refused.sid);
      t.serves.delete(refused.sid);
      refused.end();
      if (refused.listenerCount('error') > 0) {
        refused.emit('error', err);
        return;
      }
    }
    t.report(err);
  }
}
