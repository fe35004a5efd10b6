// The daemon's whole `status` from its pages: the status call answers at most `limit` clients
// and patterns at a time (docs/PROTOCOL.md section 6.12); this asks page after page and joins
// them. Imports only protocol/.

import type { BrokerStatus, StatusArgs } from '../protocol/status.js';

/**
 * Calls `status` through `call` until both lists are complete. Clients and patterns that come
 * or go between pages may be missed or seen twice; the totals are those of the last page.
 */
export async function wholeStatus(
  call: (args: StatusArgs & Record<string, unknown>) => Promise<unknown>,
  pageSize: number,
): Promise<BrokerStatus> {
  const first = (await call({ limit: pageSize })) as BrokerStatus;
  let { clientsNext, subjectsNext } = first;
  while (clientsNext !== null || subjectsNext !== null) {
    // A list already complete is asked past its end (subjects are ASCII below 0x7f), so its
    // page comes back empty.
    const page = (await call({
      limit: pageSize,
      clientsAfter: clientsNext ?? Number.MAX_SAFE_INTEGER,
      subjectsAfter: subjectsNext ?? '\x7f',
    })) as BrokerStatus;
    if (clientsNext !== null) first.clients.push(...page.clients);
    if (subjectsNext !== null) first.subjects.push(...page.subjects);
    clientsNext = clientsNext === null ? null : page.clientsNext;
    subjectsNext = subjectsNext === null ? null : page.subjectsNext;
    first.totals = page.totals;
  }
  first.clientsNext = null;
  first.subjectsNext = null;
  return first;
}
