// Flow control: a producer is not read while a receiver it feeds is over its bound (block) or
// over the flow window (pace, for flowWaitMs at most); waiters are released when the receiver
// drains. Imports only protocol/ and broker/.

import type { TimerHandle } from '../protocol/clock.js';
import type { BrokerCore } from './core.js';
import { sendGaps } from './delivery.js';
import { SessionState, type Session, type SessionStateValue } from './session.js';
import type { Sub } from './sub.js';

/**
 * What flow control can pause: a client session, or a daemon-side producer such as an event
 * source (producer.ts), whose pause() stops reading its file descriptor.
 */
export interface Producer {
  readonly flow: FlowState;
  readonly conn: { pause(): void; resume(): void };
  readonly state: SessionStateValue;
}

/** The flow-control state of one session, edited only by this file. */
export class FlowState {
  /** Producers paused until this session's queue has room. */
  readonly waiters = new Set<Producer>();
  /** Sessions this one is paused for. */
  readonly blockedBy = new Set<Session>();
  /** The timer bounding how long producers wait for this client to drain. */
  paceTimer: TimerHandle;
  /** This client did not drain within flowWaitMs; it paces nobody until it does. */
  paceExpired = false;
}

/** Stops reading from `producer` until `t`'s queue has room again (the EPOLLIN/EPOLLOUT switch). */
export function block(producer: Producer, t: Session): void {
  if (producer === t) {
    blockSelf(t);
    return;
  }
  if (t.flow.waiters.has(producer)) return;
  t.flow.waiters.add(producer);
  producer.flow.blockedBy.add(t);
  if (producer.flow.blockedBy.size === 1) producer.conn.pause();
}

/**
 * `s` filled its own queue past its bound with what it asked for (PONGs, refusals, CALL_REPLYs,
 * messages to itself): it is not read until its queue is back to half of both bounds.
 */
function blockSelf(s: Session): void {
  const blockedBy = s.flow.blockedBy;
  if (blockedBy.has(s)) return;
  blockedBy.add(s);
  if (blockedBy.size === 1) s.conn.pause();
}

/** Flow control after a delivery to `sub`: only `disconnect` subscriptions pace producers. */
export function paceSub(core: BrokerCore, producer: Producer | null, sub: Sub): void {
  if (
    producer !== null &&
    sub.session.pending > core.options.window &&
    sub.policy === 'disconnect'
  ) {
    pace(core, producer, sub.session);
  }
}

/**
 * `t` has more than the window pending, so `producer` is not read until `t` drains to half of
 * it, for flowWaitMs at most. A client that does not drain in time stops pacing (`paceExpired`)
 * until it does; its queue may then grow to the bound and its policy applies, so a stuck
 * consumer never holds a producer for long.
 */
export function pace(core: BrokerCore, producer: Producer, t: Session): void {
  const f = t.flow;
  if (core.options.window === 0 || f.paceExpired || producer === t || f.waiters.has(producer))
    return;
  block(producer, t);
  const clock = core.options.clock;
  f.paceTimer ??= clock.setTimeout(() => {
    f.paceTimer = undefined;
    f.paceExpired = true;
    if (t.pending <= core.options.maxQueueBytes && f.waiters.size > 0) releaseWaiters(core, t);
  }, core.options.flowWaitMs);
}

/** Resumes every producer paused for `t` (unless another receiver still holds it). */
export function releaseWaiters(core: BrokerCore, t: Session): void {
  const f = t.flow;
  core.options.clock.clearTimeout(f.paceTimer);
  f.paceTimer = undefined;
  for (const p of f.waiters) {
    p.flow.blockedBy.delete(t);
    if (p.flow.blockedBy.size === 0 && p.state !== SessionState.CLOSED) p.conn.resume();
  }
  f.waiters.clear();
}

/** `s` is gone: it holds nobody and waits for nobody. */
export function forget(core: BrokerCore, s: Session): void {
  releaseWaiters(core, s);
  forgetProducer(s);
}

/** Producer `p` is gone: nobody holds it any longer. */
export function forgetProducer(p: Producer): void {
  for (const t of p.flow.blockedBy) t.flow.waiters.delete(p);
  p.flow.blockedBy.clear();
}

/**
 * After a flush of `s` (`emptied`: everything was handed to the transport): once its queue is
 * back to half its bounds, owed GAPs go out and paused producers resume; a closing session
 * whose output is all written is ended (the transport closes it fully).
 */
export function afterFlush(core: BrokerCore, s: Session, emptied: boolean): void {
  const o = core.options;
  const pending = s.pending;
  if (pending <= o.maxQueueBytes / 2 && s.queuedMsgs <= o.maxQueueMsgs / 2) {
    s.slowSince = 0;
    const blockedBy = s.flow.blockedBy;
    if (blockedBy.delete(s) && blockedBy.size === 0 && s.state !== SessionState.CLOSED)
      s.conn.resume();
    if (s.gaps.size > 0) {
      sendGaps(s);
      emptied = s.flush();
    }
    // Producers paced by the window resume at half of it; once a client stopped pacing (it
    // did not drain in time), those blocked by the bound resume at half of the bound.
    const f = s.flow;
    if (pending <= o.window / 2) {
      f.paceExpired = false;
      if (f.waiters.size > 0) releaseWaiters(core, s);
    } else if (f.paceExpired && f.waiters.size > 0) releaseWaiters(core, s);
  }
  if (emptied && s.state === SessionState.CLOSING) s.conn.end();
}
