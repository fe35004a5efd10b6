// The answer to the `status` control call, built from the broker's sessions, subject indexes
// and counters. Imports only protocol/ and broker/.

import { PROTOCOL_VERSION } from '../protocol/constants.js';
import {
  STATUS_PAGE,
  STATUS_PAGE_MAX,
  type BrokerStatus,
  type ClientStatus,
  type StatusArgs,
  type SubjectStatus,
} from '../protocol/status.js';
import type { BrokerCore } from './core.js';

/**
 * Why `args` of a `status` call cannot be served, or null. Unknown keys are ignored, like
 * everywhere in control maps.
 */
export function statusArgsProblem(args: Record<string, unknown>): string | null {
  const { clientsAfter, subjectsAfter, limit } = args;
  if (
    clientsAfter !== undefined &&
    !(Number.isSafeInteger(clientsAfter) && (clientsAfter as number) >= 0)
  )
    return 'status: clientsAfter must be a client id (an integer of at least 0)';
  if (subjectsAfter !== undefined && typeof subjectsAfter !== 'string')
    return 'status: subjectsAfter must be a text string';
  if (
    limit !== undefined &&
    !(Number.isInteger(limit) && (limit as number) >= 1 && (limit as number) <= STATUS_PAGE_MAX)
  )
    return `status: limit must be an integer from 1 to ${STATUS_PAGE_MAX}`;
  return null;
}

/** What `status` answers now: the figures, and the page of clients and patterns `args` asks for. */
export function brokerStatus(core: BrokerCore, args: StatusArgs = {}): BrokerStatus {
  const now = core.options.clock.now();
  const limit = args.limit ?? STATUS_PAGE;
  const after = args.clientsAfter ?? 0;
  const clients: ClientStatus[] = [];
  let clientsTotal = 0;
  let clientsNext: number | null = null;
  // Sessions are kept in id order (ids only grow), so a page is a walk from `after`.
  for (const s of core.sessions.values()) {
    if (!s.open) continue;
    clientsTotal++;
    if (s.id <= after) continue;
    if (clients.length === limit) {
      clientsNext ??= clients[clients.length - 1]!.id;
      continue;
    }
    clients.push({
      id: s.id,
      name: s.name,
      pid: s.pid ?? null,
      peer: s.conn.peer ?? null,
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
  const sorted = [...subjects.values()].sort((a, b) => (a.subject < b.subject ? -1 : 1));
  const from = args.subjectsAfter ?? '';
  const first = from === '' ? 0 : sorted.findIndex((e) => e.subject > from);
  const page = first < 0 ? [] : sorted.slice(first, first + limit);
  const more = first >= 0 && first + limit < sorted.length;
  return {
    server: 'udsbus',
    version: core.options.serverVersion,
    protocol: PROTOCOL_VERSION,
    uptimeMs: now - core.startedAt,
    clients,
    subjects: page,
    clientsTotal,
    subjectsTotal: sorted.length,
    clientsNext,
    subjectsNext: more ? page[page.length - 1]!.subject : null,
    totals: {
      msgsIn: core.msgsIn,
      msgsDelivered: core.delivered,
      dropped: core.dropped,
      pendingRequests: core.pending.size,
      lateReplies: core.pending.late,
      acceptErrors: core.acceptErrors.count,
      fatalErrors: { ...core.fatalErrors },
      subscriptions: core.subscriptionCount,
      subscriptionsRefused: core.subsRefused,
      names: core.names.size,
      denied: core.denied,
      deniedByVerb: { ...core.deniedByVerb },
      stateKeys: core.state.size,
      stateBytes: core.state.bytes,
      stateRevision: core.state.revision,
      timers: core.timers.size,
      sources: core.sources?.size ?? 0,
    },
  };
}
