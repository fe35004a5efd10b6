// The answer to the `status` control call, built from the broker's sessions, subject indexes
// and counters. Imports only protocol/ and broker/.

import { PROTOCOL_VERSION } from '../protocol/constants.js';
import type { BrokerStatus, ClientStatus, SubjectStatus } from '../protocol/status.js';
import type { BrokerCore } from './core.js';

/** What `status` answers now. */
export function brokerStatus(core: BrokerCore): BrokerStatus {
  const now = core.options.clock.now();
  const clients: ClientStatus[] = [];
  for (const s of core.sessions.values()) {
    if (!s.open) continue;
    clients.push({
      id: s.id,
      name: s.name,
      pid: s.pid ?? null,
      subscriptions: s.subs.size,
      queuedBytes: s.pending,
      queuedMsgs: s.queuedMsgs,
      msgsIn: s.msgsIn,
      msgsOut: s.delivered,
      dropped: s.dropped,
      connectedMs: now - s.connectedAt,
    });
  }
  const subjects = new Map<string, SubjectStatus>();
  for (const [subject, n] of core.subs.patterns())
    subjects.set(subject, { subject, subscribers: n, responders: 0 });
  for (const [subject, n] of core.responders.patterns()) {
    const e = subjects.get(subject) ?? { subject, subscribers: 0, responders: 0 };
    e.responders = n;
    subjects.set(subject, e);
  }
  return {
    server: 'udsbus',
    version: core.options.serverVersion,
    protocol: PROTOCOL_VERSION,
    uptimeMs: now - core.startedAt,
    clients,
    subjects: [...subjects.values()].sort((a, b) => (a.subject < b.subject ? -1 : 1)),
    totals: {
      msgsIn: core.msgsIn,
      msgsDelivered: core.delivered,
      dropped: core.dropped,
      pendingRequests: core.pending.size,
      lateReplies: core.pending.late,
      acceptErrors: core.acceptErrors.count,
    },
  };
}
