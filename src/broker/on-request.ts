// REQ and RES: a request goes to exactly one responder (round-robin over every matching `serve`
// registration) with a reply token; its RES comes back to the requester as a REPLY. Refusals
// (bad subject, no responders) are REPLYs too, so a requester never waits. Imports protocol/, broker/.

import { textEncoder } from '../protocol/bytes.js';
import { Flag, ReplyStatus, ResStatus } from '../protocol/constants.js';
import { encodeReply, envelopeSize, writeEnvelope } from '../protocol/delivery-frames.js';
import { decodeReq, decodeRes } from '../protocol/message-frames.js';
import { subjectProblem } from '../protocol/subject.js';
import type { BrokerCore } from './core.js';
import { deliverReliable } from './delivery.js';
import { monitorCopy } from './monitor.js';
import type { Session } from './session.js';
import type { Sub } from './sub.js';

const EMPTY = new Uint8Array(0);

/** REQ from `s`. */
export function onReq(core: BrokerCore, s: Session, body: Uint8Array): void {
  const r = decodeReq(body, core.subjects);
  const problem = subjectProblem(r.subject, false);
  if (problem !== null) {
    const why = textEncoder.encode(problem);
    core.reply(s, encodeReply(r.reqId, ReplyStatus.BAD_SUBJECT, 0, core.self, why), 255);
    return;
  }
  if (!s.policy.open) {
    const why = core.deny(s, 'request', r.subject);
    if (why !== null) {
      const payload = textEncoder.encode(why);
      core.reply(s, encodeReply(r.reqId, ReplyStatus.PERMISSION, 0, core.self, payload), 255);
      return;
    }
  }
  const route = core.responders.match(r.subject);
  core.msgsIn++;
  const all = route.all;
  // A request to `@NAME...` goes to the name's owner only, whoever else serves a pattern
  // matching it (`serve('>')` cannot take it); nobody owns the name: no responders.
  const owner =
    r.subject.charCodeAt(0) === 0x40 ? (core.names.ownerForSubject(r.subject) ?? null) : undefined;
  let sub: Sub | undefined;
  for (let tries = 0; tries < all.length && owner !== null; tries++) {
    const cand = all[route.cursor++ % all.length]!;
    if (owner !== undefined && cand.session !== owner) continue;
    if (cand.session.open && core.pending.load(cand.session) < core.options.maxPendingRequests) {
      sub = cand;
      break;
    }
  }
  if (sub === undefined) {
    if (core.monitors.size > 0) monitorReq(core, s, body, r, 0);
    core.reply(s, encodeReply(r.reqId, ReplyStatus.NO_RESPONDERS, 0, core.self, EMPTY), 255);
    return;
  }
  const responder = sub.session;
  const token = core.pending.open(s, r.reqId, responder, r.timeoutMs, r.subject);
  if (core.monitors.size > 0) monitorReq(core, s, body, r, responder.id);
  const id = core.nextMsgId();
  // The responder's envelope carries the reply token after the subject.
  const flags = r.flags | Flag.REPLY;
  const tail = body.subarray(r.tailStart);
  const env = core.slab.alloc(envelopeSize(r.subjectEnd - r.subjectStart, flags, tail.length));
  const subject = body.subarray(r.subjectStart, r.subjectEnd);
  writeEnvelope(env, 0, flags, r.priority, s.sender, id, subject, token, tail);
  deliverReliable(core, s, responder, r.priority, sub.sid, env, id);
  sub.delivered++;
}

/** RES from `s`: forwarded as REPLY when its request is still open, else dropped and counted. */
export function onRes(core: BrokerCore, s: Session, body: Uint8Array): void {
  const r = decodeRes(body);
  const p = core.pending.settle(r.token, s);
  if (p === undefined || !p.requester.open) return;
  const status = r.status === ResStatus.OK ? ReplyStatus.OK : ReplyStatus.ERROR;
  if (core.monitors.size > 0) {
    const us = Math.round((core.options.clock.now() - p.openedAt) * 1000);
    monitorCopy(
      core,
      'reply',
      p.subject,
      p.subject,
      s.sender,
      255,
      r.flags,
      body,
      r.tailStart,
      body.length,
      {
        'mon-to': String(p.requester.id),
        'mon-req': String(p.reqId),
        'mon-status': status === ReplyStatus.OK ? 'ok' : 'error',
        'mon-latency-us': String(us),
      },
    );
  }
  const frame = encodeReply(p.reqId, status, r.flags, s.sender, body.subarray(r.tailStart));
  deliverReliable(core, s, p.requester, 255, -1, frame, 0);
}

/** A monitor copy of a request: `to` is the chosen responder's id (0: no responders). */
function monitorReq(
  core: BrokerCore,
  s: Session,
  body: Uint8Array,
  r: ReturnType<typeof decodeReq>,
  to: number,
): void {
  monitorCopy(
    core,
    'req',
    r.subject,
    r.subject,
    s.sender,
    r.priority,
    r.flags,
    body,
    r.tailStart,
    body.length,
    {
      'mon-to': String(to),
      'mon-req': String(r.reqId),
      ...(to === 0 ? { 'mon-status': 'no-responders' } : {}),
    },
  );
}
