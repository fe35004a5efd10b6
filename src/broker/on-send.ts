// SEND: a direct message to one client id, or (to 0) a broadcast to every other greeted
// client; delivered losslessly, with the BROADCAST flag on broadcasts. Imports protocol/, broker/.

import { ErrorCode } from '../protocol/errors.js';
import { Flag } from '../protocol/constants.js';
import { envelopeSize, writeEnvelope } from '../protocol/delivery-frames.js';
import { decodeSend } from '../protocol/message-frames.js';
import type { BrokerCore } from './core.js';
import { deliverReliable } from './delivery.js';
import { monitorCopy, sendSubject } from './monitor.js';
import type { Session } from './session.js';

const NO_SUBJECT = new Uint8Array(0);

/** SEND from `s`. */
export function onSend(core: BrokerCore, s: Session, body: Uint8Array): void {
  const f = decodeSend(body);
  if (!s.policy.open) {
    // No subject: only rules without `subjects` apply (the space keeps every pattern off).
    const why =
      f.to === 0
        ? core.deny(s, 'broadcast', 'to everyone')
        : core.deny(s, 'send', `to client ${f.to}`);
    if (why !== null) {
      core.refuse(s, ErrorCode.PERMISSION, why, { op: 'SEND', to: f.to });
      return;
    }
  }
  const id = core.nextMsgId();
  core.msgsIn++;
  if (core.monitors.size > 0) {
    const kind = f.to === 0 ? 'broadcast' : 'direct';
    monitorCopy(
      core,
      kind,
      sendSubject(f.to),
      '',
      s.sender,
      f.priority,
      f.flags,
      body,
      f.tailStart,
      body.length,
      {
        'mon-to': f.to === 0 ? 'all' : String(f.to),
      },
    );
  }
  const flags = f.flags | (f.to === 0 ? Flag.BROADCAST : 0);
  const tail = body.subarray(f.tailStart);
  const env = core.slab.alloc(envelopeSize(0, flags, tail.length));
  writeEnvelope(env, 0, flags, f.priority, s.sender, id, NO_SUBJECT, 0, tail);
  if (f.to === 0) {
    for (const t of core.sessions.values()) {
      if (t !== s && t.open) deliverReliable(core, s, t, f.priority, 0, env, id);
    }
    return;
  }
  const t = core.sessions.get(f.to);
  if (t === undefined || !t.open) {
    core.refuse(s, ErrorCode.NO_SUCH_CLIENT, `no client with id ${f.to}`, { op: 'SEND', to: f.to });
    return;
  }
  deliverReliable(core, s, t, f.priority, 0, env, id);
}
