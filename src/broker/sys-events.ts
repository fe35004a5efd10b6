// What the daemon publishes itself (sender: the daemon, priority 0): `$SYS` events (JSON:
// connect, disconnect, slow), timer ticks, triggered events and event-source records, all
// through daemonPublish. Imports only protocol/ and broker/.

import { textEncoder } from '../protocol/bytes.js';
import { envelopeSize, writeEnvelope } from '../protocol/delivery-frames.js';
import { NO_EXTRAS, tailSize, writeTail, type EncodedExtras } from '../protocol/extras.js';
import type { BrokerCore } from './core.js';
import { fanOut } from './delivery.js';
import type { Producer } from './flow-control.js';
import type { Session } from './session.js';
import type { Sub } from './sub.js';

/** How a daemon-originated message is published. */
export interface DaemonPublishOptions {
  /** Type and headers, encoded once by the caller (encodeExtras). Default none. */
  extras?: EncodedExtras;
  /**
   * Who is paced when a recipient falls behind: a client that asked for the message (trigger)
   * or an event source. Default none: the message never waits (it is dropped for a full queue).
   */
  producer?: Producer | null;
}

/**
 * The one path by which the daemon publishes a message of its own on `subject` (a valid subject
 * without wildcards). Costs nothing without subscribers. Returns how many subscriptions and
 * queue groups it went to (0: nobody matched).
 */
export function daemonPublish(
  core: BrokerCore,
  subject: string,
  payload: Uint8Array,
  options: DaemonPublishOptions = {},
): number {
  const route = core.subs.match(subject);
  if (route.empty) return 0;
  const extras = options.extras ?? NO_EXTRAS;
  const name = textEncoder.encode(subject);
  const id = core.nextMsgId();
  const tailLen = tailSize(extras, payload.length);
  const env = core.slab.alloc(envelopeSize(name.length, extras.flags, tailLen));
  const at = writeEnvelope(env, 0, extras.flags, 0, core.self, id, name, 0, EMPTY);
  writeTail(env, at, extras, payload);
  fanOut(core, options.producer ?? null, route, env, 0, id);
  return route.plain.length + route.groups.length;
}

const EMPTY = new Uint8Array(0);

/** Publishes a daemon event as JSON on a `$SYS.` subject; costs nothing without subscribers. */
export function sysEvent(core: BrokerCore, subject: string, body: Record<string, unknown>): void {
  if (core.subs.match(subject).empty) return;
  daemonPublish(core, subject, textEncoder.encode(JSON.stringify(body)));
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
