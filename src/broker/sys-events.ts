// `$SYS` events: daemon notices published as JSON (sender id 0, priority 0) to whoever
// subscribed: connect, disconnect, slow. Imports only protocol/ and broker/.

import { textEncoder } from '../protocol/bytes.js';
import { envelopeSize, writeEnvelope } from '../protocol/delivery-frames.js';
import type { BrokerCore } from './core.js';
import { fanOut } from './delivery.js';
import type { Session } from './session.js';
import type { Sub } from './sub.js';

/** Publishes a daemon event as JSON on a `$SYS.` subject; costs nothing without subscribers. */
export function sysEvent(core: BrokerCore, subject: string, body: Record<string, unknown>): void {
  const route = core.subs.match(subject);
  if (route.empty) return;
  const name = textEncoder.encode(subject);
  const payload = textEncoder.encode(JSON.stringify(body));
  const id = core.nextMsgId();
  const env = core.slab.alloc(envelopeSize(name.length, 0, payload.length));
  writeEnvelope(env, 0, 0, 0, core.self, id, name, 0, payload);
  fanOut(core, null, route, env, 0, id);
}

/** `$SYS.connect` after a handshake. */
export function sysConnect(core: BrokerCore, s: Session): void {
  sysEvent(core, '$SYS.connect', { id: s.id, name: s.name, pid: s.pid ?? null, ...kernel(s) });
}

/** `$SYS.disconnect` when a greeted session is gone; `dropped` counts its lost messages. */
export function sysDisconnect(core: BrokerCore, s: Session, dropped: number): void {
  sysEvent(core, '$SYS.disconnect', {
    id: s.id,
    name: s.name,
    pid: s.pid ?? null,
    ...kernel(s),
    dropped,
  });
}

/** The kernel's view of a client for `$SYS` events: uid and pid (null when unknown). */
function kernel(s: Session): { uid: number | null; kernelPid: number | null } {
  const peer = s.conn.peer;
  return { uid: peer?.uid ?? null, kernelPid: peer?.pid ?? null };
}

/** `$SYS.slow` when a subscription starts losing messages (or its consumer falls behind). */
export function sysSlow(core: BrokerCore, sub: Sub): void {
  const t = sub.session;
  sysEvent(core, '$SYS.slow', {
    id: t.id,
    name: t.name,
    subject: sub.subject,
    policy: sub.policy,
    queuedBytes: t.txq.bytes,
  });
}
