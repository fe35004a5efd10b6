// SUB and UNSUB: subscriptions and `serve` registrations of a session, kept in the broker's two
// subject indexes. Refusals name the sid. Imports only protocol/ and broker/.

import { BusError, ErrorCode } from '../protocol/errors.js';
import { decodeSub, decodeUnsub } from '../protocol/control-frames.js';
import { subjectProblem } from '../protocol/subject.js';
import type { BrokerCore } from './core.js';
import type { Session } from './session.js';
import { Sub } from './sub.js';
import { sendCurrent } from './on-state.js';

/** SUB from `s`. */
export function onSub(core: BrokerCore, s: Session, body: Uint8Array): void {
  const f = decodeSub(body);
  const detail = { sid: f.sid, subject: f.subject };
  const problem = subjectProblem(f.subject, true);
  if (problem !== null) {
    core.refuse(s, ErrorCode.BAD_SUBJECT, problem, detail);
    return;
  }
  if (f.queue !== undefined && subjectProblem(f.queue, false) !== null) {
    const message = `bad queue group name ${JSON.stringify(f.queue)}`;
    core.refuse(s, ErrorCode.BAD_SUBJECT, message, detail);
    return;
  }
  if (s.subs.has(f.sid))
    throw new BusError(ErrorCode.PROTOCOL, `SUB: sid ${f.sid} is already in use`);
  if (f.monitor === true) {
    if (f.serve === true || f.queue !== undefined || f.current === true) {
      core.refuse(s, ErrorCode.PROTOCOL, 'a monitor SUB takes no serve, queue or current', detail);
      return;
    }
    const why = s.policy.deniesMonitor(f.subject);
    if (why !== null) {
      core.countDenial('monitor');
      core.refuse(
        s,
        ErrorCode.PERMISSION,
        `monitor ${f.subject}: denied by the access policy (${why})`,
        detail,
      );
      return;
    }
  } else if (!s.policy.open) {
    const why = core.deny(s, f.serve === true ? 'serve' : 'subscribe', f.subject);
    if (why !== null) {
      core.refuse(s, ErrorCode.PERMISSION, why, detail);
      return;
    }
  }
  const max = core.options.maxSubscriptions;
  if (s.subs.size >= max) {
    core.subsRefused++;
    core.refuse(s, ErrorCode.LIMIT, `more than ${max} subscriptions`, detail);
    return;
  }
  const total = core.options.maxSubscriptionsTotal;
  if (core.subscriptionCount >= total) {
    core.subsRefused++;
    const message = `more than ${total} subscriptions on the bus (maxSubscriptionsTotal)`;
    core.refuse(s, ErrorCode.LIMIT, message, detail);
    return;
  }
  // A monitor never slows the bus down: it loses copies (drop-oldest unless it asked for drop-newest).
  const policy =
    f.monitor === true
      ? f.onSlow === 'drop-newest'
        ? 'drop-newest'
        : 'drop-oldest'
      : (f.onSlow ?? 'disconnect');
  const sub = new Sub(s, f.sid, f.subject, f.queue, f.serve === true, policy);
  s.subs.set(f.sid, sub);
  if (f.monitor === true) sub.monitor = true;
  core.indexOf(sub).add(sub);
  if (f.current === true && !sub.serve) sendCurrent(core, sub);
}

/** UNSUB from `s`; an unknown sid is ignored. */
export function onUnsub(core: BrokerCore, s: Session, body: Uint8Array): void {
  const sub = s.subs.get(decodeUnsub(body));
  if (sub !== undefined) removeSub(core, sub);
}

/** Removes a subscription from its session and its index; a GAP it was owed is not sent. */
export function removeSub(core: BrokerCore, sub: Sub): void {
  sub.session.subs.delete(sub.sid);
  sub.session.gaps.delete(sub);
  core.indexOf(sub).remove(sub);
}

/** Subscriptions of closed sessions removed from the subject indexes per event-loop turn. */
const REMOVE_SLICE = 4096;

/**
 * Removes every subscription of `s` (it is closing). Its subscriptions leave the subject
 * indexes in slices of REMOVE_SLICE per turn, each slice with one cache invalidation, so 100
 * clients with 10,000 subscriptions each leaving at once do not stall the event loop; until then
 * routing skips them (their session is closed). The close itself only queues `s.subs`.
 */
export function removeAllSubs(core: BrokerCore, s: Session): void {
  if (s.subs.size === 0) return;
  s.gaps.clear();
  const wasIdle = core.leavingSubs.length === 0;
  core.leavingSubs.push(s.subs);
  core.leavingCount += s.subs.size;
  if (wasIdle) core.options.schedule(() => removeSlice(core));
}

function removeSlice(core: BrokerCore): void {
  const byIndex = new Map<ReturnType<BrokerCore['indexOf']>, Sub[]>();
  let n = 0;
  const queue = core.leavingSubs;
  while (queue.length > 0 && n < REMOVE_SLICE) {
    const subs = queue[0]!;
    for (const [sid, sub] of subs) {
      const index = core.indexOf(sub);
      const list = byIndex.get(index);
      if (list === undefined) byIndex.set(index, [sub]);
      else list.push(sub);
      subs.delete(sid);
      if (++n >= REMOVE_SLICE) break;
    }
    if (subs.size === 0) queue.shift();
  }
  for (const [index, list] of byIndex) index.removeAll(list);
  core.leavingCount -= n;
  if (queue.length > 0) core.options.schedule(() => removeSlice(core));
}
