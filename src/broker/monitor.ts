// Monitors (like dbus-monitor): a SUB with `monitor: true` gets a copy of every publish,
// request, reply, direct message and broadcast whose subject its pattern matches, as a MSG with
// `mon-*` headers saying what it was, who received it and, for a reply, the status and latency.
// Copies never affect delivery: a monitor that falls behind loses copies (drop-oldest, GAP).
// Nothing here runs while no monitor exists. docs/PROTOCOL.md section 10.12.
// Imports only protocol/ and broker/.

import { textEncoder } from '../protocol/bytes.js';
import { EXTRAS_FLAGS } from '../protocol/constants.js';
import { envelopeSize, writeEnvelope, type Sender } from '../protocol/delivery-frames.js';
import { checkTail, decodeTail, encodeExtras, tailSize, writeTail } from '../protocol/extras.js';
import type { BrokerCore } from './core.js';
import { deliver } from './delivery.js';

/** What a monitored copy was. */
export type MonitorKind = 'pub' | 'req' | 'reply' | 'direct' | 'broadcast';

/**
 * Sends a copy of one message to the monitors of `match`: `shown` is the subject the copy
 * carries, the tail at `buf[tailStart..end)` (under `flags`) is the original's, and `extra` the
 * `mon-*` headers added to its own.
 */
export function monitorCopy(
  core: BrokerCore,
  kind: MonitorKind,
  match: string,
  shown: string,
  from: Sender,
  priority: number,
  flags: number,
  buf: Uint8Array,
  tailStart: number,
  end: number,
  extra: Record<string, string>,
): void {
  const route = core.monitors.match(match);
  if (route.empty) return;
  const payloadAt = checkTail(buf, tailStart, flags & EXTRAS_FLAGS, EXTRAS_FLAGS, end);
  const t = decodeTail(buf, tailStart, flags & EXTRAS_FLAGS, payloadAt, end);
  const ex = encodeExtras({ type: t.type, headers: { ...t.headers, 'mon-kind': kind, ...extra } });
  const tail = new Uint8Array(tailSize(ex, t.data.length));
  writeTail(tail, 0, ex, t.data);
  const subject = textEncoder.encode(shown);
  const id = core.nextMsgId();
  const env = core.slab.alloc(envelopeSize(subject.length, ex.flags, tail.length));
  writeEnvelope(env, 0, ex.flags, priority, from, id, subject, 0, tail);
  const all = route.all;
  for (let i = 0; i < all.length; i++) {
    const sub = all[i]!;
    if (sub.session.open) deliver(core, null, sub, env, 0, id);
  }
}

/** The subject a direct message or broadcast is matched on by monitors: `$SEND.<to>` / `$SEND.all`. */
export function sendSubject(to: number): string {
  return to === 0 ? '$SEND.all' : `$SEND.${to}`;
}
