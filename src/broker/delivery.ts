// Delivery of messages to sessions: fan-out over a route, the batch fast path, the TX queue,
// the slow-consumer policies (make room, count loss, slow disconnect) and GAP notices, and
// lossless delivery for requests, replies and direct messages. Imports protocol/ and broker/.

import { ErrorCode } from '../protocol/errors.js';
import { encodeGap, msgFrameSize, writeMsgHead } from '../protocol/delivery-frames.js';
import type { BrokerCore } from './core.js';
import { block, pace, paceSub, type Producer } from './flow-control.js';
import { SessionState, type Session } from './session.js';
import type { Sub } from './sub.js';
import type { Route } from './subject-index.js';
import { sysSlow } from './sys-events.js';

/** Delivers one envelope to every plain subscriber of `route` and one member of each queue group. */
export function fanOut(
  core: BrokerCore,
  producer: Producer | null,
  route: Route<Sub>,
  env: Uint8Array,
  priority: number,
  id: number,
): void {
  const plain = route.plain;
  for (let i = 0; i < plain.length; i++) deliver(core, producer, plain[i]!, env, priority, id);
  const groups = route.groups;
  for (let g = 0; g < groups.length; g++) {
    // Round-robin over the members whose session is ready (a closed one may still be listed
    // while its subscriptions are removed, a slice per turn).
    const members = groups[g]!;
    const n = members.length;
    const c = route.cursors[g]!;
    for (let k = 0; k < n; k++) {
      const m = members[(c + k) % n]!;
      if (m.session.state === SessionState.READY) {
        route.cursors[g] = (c + k + 1) % n;
        deliver(core, producer, m, env, priority, id);
        break;
      }
    }
  }
}

/** Queues one message for a subscription, applying its slow-consumer policy. */
export function deliver(
  core: BrokerCore,
  producer: Producer | null,
  sub: Sub,
  env: Uint8Array,
  priority: number,
  id: number,
): void {
  const t = sub.session;
  if (t.state !== SessionState.READY) return;
  if (priority === 0) {
    const off = batchMsg(core, sub, env.length);
    if (off >= 0) {
      t.out.chunk.set(env, off);
      paceSub(core, producer, sub);
      return;
    }
  }
  const q = t.txq;
  const o = core.options;
  if (q.bytes + t.out.bytes >= o.maxQueueBytes || q.length + t.out.msgs >= o.maxQueueMsgs) {
    if (!makeRoom(core, producer, sub, id)) return;
  }
  q.push(priority, sub.sid, env, id);
  sub.delivered++;
  t.delivered++;
  core.delivered++;
  if (!t.out.dirty) core.markDirty(t);
  paceSub(core, producer, sub);
}

/**
 * Fast path: when `sub`'s session keeps up, reserves a MSG frame for an envelope of `envLen`
 * bytes in its write batch, writes the MSG head, counts the delivery and returns where in
 * `sub.session.out.chunk` the envelope goes. Returns -1 when the message must take the TX queue.
 */
export function batchMsg(core: BrokerCore, sub: Sub, envLen: number): number {
  const t = sub.session;
  const size = msgFrameSize(sub.sid, envLen);
  const o = core.options;
  if (!t.fastPath(size, o.maxQueueBytes, o.maxQueueMsgs, sub.policy !== 'drop-oldest')) return -1;
  const at = t.out.reserve(size); // may replace the chunk: read it after
  const off = writeMsgHead(t.out.chunk, at, sub.sid, envLen);
  sub.delivered++;
  t.delivered++;
  core.delivered++;
  if (!t.out.dirty) core.markDirty(t);
  return off;
}

/**
 * Queues a message that must not be dropped (`sid` -1 for a whole frame). When the target's
 * queue is over its bound, the producer stops being read until the target drains; over the
 * flow window, it is paced.
 */
export function deliverReliable(
  core: BrokerCore,
  producer: Session,
  t: Session,
  priority: number,
  sid: number,
  buf: Uint8Array,
  id: number,
): void {
  if (!t.open) return;
  t.txq.push(priority, sid, buf, id);
  t.delivered++;
  core.delivered++;
  if (!t.out.dirty) core.markDirty(t);
  const o = core.options;
  if (t.pending > o.maxQueueBytes || t.queuedMsgs > o.maxQueueMsgs) block(producer, t);
  else if (t.pending > o.window) pace(core, producer, t);
}

/** The queue of `sub`'s session is full. Returns true when the new message may be queued. */
function makeRoom(core: BrokerCore, producer: Producer | null, sub: Sub, id: number): boolean {
  const t = sub.session;
  switch (sub.policy) {
    case 'drop-oldest': {
      const dropped = t.txq.dropOldest((sid) => t.subs.get(sid)?.policy === 'drop-oldest');
      if (dropped !== null) {
        const victim = t.subs.get(dropped.sid);
        if (victim !== undefined) countLoss(core, victim, dropped.id);
        return true;
      }
      countLoss(core, sub, id);
      return false;
    }
    case 'drop-newest':
      countLoss(core, sub, id);
      return false;
    default: {
      // disconnect: during the grace period the consumer is given time, not losses: the
      // message is queued and its producer paused until the consumer drains. A consumer
      // still over its bound when the grace period ends is cut off (and its queue counted).
      const now = core.options.clock.now();
      if (t.slowSince === 0) {
        t.slowSince = now;
        sysSlow(core, sub);
      }
      if (now - t.slowSince >= core.options.slowGraceMs) {
        countLoss(core, sub, id);
        slowDisconnect(core, t);
        return false;
      }
      if (producer === null) {
        countLoss(core, sub, id); // daemon events never wait
        return false;
      }
      block(producer, t);
      return true;
    }
  }
}

/** Counts message `id` as lost on `sub`: a GAP is owed, and `$SYS.slow` when a loss run starts. */
function countLoss(core: BrokerCore, sub: Sub, id: number): void {
  const t = sub.session;
  const firstEver = sub.dropped === 0;
  if (sub.countLoss(id)) {
    t.gaps.add(sub);
    if (firstEver || t.gaps.size === 1) sysSlow(core, sub);
  }
  t.dropped++;
  core.dropped++;
}

/** Cuts off a `disconnect` consumer that stayed over its bound for the grace period. */
export function slowDisconnect(core: BrokerCore, t: Session): void {
  const { queued, batched } = t.discardOutput();
  for (const d of queued) {
    const sub = t.subs.get(d.sid);
    if (sub !== undefined) countLoss(core, sub, d.id);
  }
  // Batched messages carry no per-subscription record: they count for the client and in total.
  t.dropped += batched;
  core.dropped += batched;
  const grace = core.options.slowGraceMs;
  core.options.log(
    `client ${t.id}: slow consumer, disconnected after ${grace} ms over its queue bound`,
  );
  core.fail(
    t,
    ErrorCode.SLOW_CONSUMER,
    `slow consumer: queue stayed over its bound for ${grace} ms`,
  );
}

/** Queues the GAP notices `s` is owed (after its queue drained to half). */
export function sendGaps(s: Session): void {
  for (const sub of s.gaps) {
    const [lost, first, last] = sub.takeGap();
    s.pushFrame(encodeGap(sub.sid, lost, first, last));
  }
  s.gaps.clear();
}
