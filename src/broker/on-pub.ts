// PUB, the hot path: parsed in place (readPub into the broker's one PubLayout), routed through
// the cached subject index, and its envelope written once: straight into the only subscriber's
// write batch, or into the slab and fanned out. Imports only protocol/ and broker/.

import { ErrorCode } from '../protocol/errors.js';
import { PUB_ENVELOPE_EXTRA, writePubEnvelope } from '../protocol/delivery-frames.js';
import { readPub } from '../protocol/message-frames.js';
import { isDaemonSubject, subjectProblem } from '../protocol/subject.js';
import type { BrokerCore } from './core.js';
import { batchMsg, fanOut } from './delivery.js';
import { paceSub } from './flow-control.js';
import { monitorCopy } from './monitor.js';
import type { Session } from './session.js';

/** The PUB body at `buf[start..end)` from `s`. */
export function onPub(
  core: BrokerCore,
  s: Session,
  buf: Uint8Array,
  start: number,
  end: number,
): void {
  const p = core.pubLayout;
  readPub(buf, start, end, p);
  const subject = core.subjects.get(buf, p.subjectStart, p.subjectEnd);
  const problem = subjectProblem(subject, false);
  if (problem !== null) {
    core.refuse(s, ErrorCode.BAD_SUBJECT, problem, { op: 'PUB', subject });
    return;
  }
  // `$SYS` events and `$STATE` changes come from the daemon alone: a client cannot forge them.
  if (subject.charCodeAt(0) === 0x24 && isDaemonSubject(subject)) {
    core.refuse(s, ErrorCode.PERMISSION, `only the daemon publishes on ${subject}`, {
      op: 'PUB',
      subject,
    });
    return;
  }
  if (!s.policy.open) {
    const why = core.deny(s, 'publish', subject);
    if (why !== null) {
      core.refuse(s, ErrorCode.PERMISSION, why, { op: 'PUB', subject });
      return;
    }
  }
  const route = core.subs.match(subject);
  core.msgsIn++;
  if (core.monitors.size > 0) {
    monitorCopy(
      core,
      'pub',
      subject,
      subject,
      s.sender,
      p.priority,
      p.flags,
      buf,
      p.tailStart,
      end,
      {
        'mon-to': String(route.all.length),
      },
    );
  }
  if (route.empty) return;
  const id = core.nextMsgId();
  const envLen = end - start + PUB_ENVELOPE_EXTRA;
  if (p.priority === 0 && route.all.length === 1 && route.plain.length === 1) {
    // One subscriber: serialize straight from the PUB bytes when its queue is empty.
    const sub = route.plain[0]!;
    const off = batchMsg(core, sub, envLen);
    if (off >= 0) {
      writePubEnvelope(sub.session.out.chunk, off, s.sender, id, buf, start, end);
      paceSub(core, s, sub);
      return;
    }
  }
  const env = core.slab.alloc(envLen);
  writePubEnvelope(env, 0, s.sender, id, buf, start, end);
  fanOut(core, s, route, env, p.priority, id);
}
