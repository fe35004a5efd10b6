// The answer to the `status` control call, as the daemon builds it and clients read it.
// Types and the page sizes. Imports nothing.

/** One client in `status`. */
export interface ClientStatus {
  id: number;
  name: string;
  /** The process id the client claimed in its HELLO, or null. */
  pid: number | null;
  /**
   * The peer's credentials as the kernel recorded them at connect time (SO_PEERCRED): these
   * cannot be forged. Null when the daemon cannot read them (no native helper, in-memory pair).
   */
  peer: { pid: number; uid: number; gid: number } | null;
  subscriptions: number;
  queuedBytes: number;
  queuedMsgs: number;
  msgsIn: number;
  msgsOut: number;
  dropped: number;
  connectedMs: number;
}

/** One subscribed pattern in `status`. */
export interface SubjectStatus {
  subject: string;
  subscribers: number;
  responders: number;
}

/** Daemon-wide counters in `status`. */
export interface StatusTotals {
  msgsIn: number;
  msgsDelivered: number;
  dropped: number;
  pendingRequests: number;
  /** RES frames dropped because their request had timed out or was already answered. */
  lateReplies: number;
  /**
   * Connections refused for want of file descriptors: past maxConnections (fatal
   * BUS_ERR_LIMIT at once) or a failed accept() (EMFILE, ENFILE, ENOMEM: closed at once).
   */
  acceptErrors: number;
  /** Subscriptions and `serve` registrations on the bus now. */
  subscriptions: number;
  /** SUBs refused with BUS_ERR_LIMIT (per-connection or bus-wide subscription limit). */
  subscriptionsRefused: number;
  /** Service names owned now (`name.list` lists them). */
  names: number;
  /** Operations the access policy refused, connections included; and by verb (absent: none). */
  denied: number;
  deniedByVerb: Record<string, number>;
  /**
   * Connections the daemon ended with a fatal ERROR, by code (BUS_ERR_HANDSHAKE for a missing
   * or slow HELLO, BUS_ERR_FRAME_TOO_LARGE, BUS_ERR_PROTOCOL, BUS_ERR_SLOW_CONSUMER, ...).
   * Codes that never happened are absent.
   */
  fatalErrors: Record<string, number>;
  /** Shared state: keys held, and bytes of all keys and values. */
  stateKeys: number;
  stateBytes: number;
  /** Shared state: the revision of the last change (0: none since the store began). */
  stateRevision: number;
  /** Daemon timers running (`timer.ls` lists them). */
  timers: number;
  /** Event sources the daemon reads (`source.ls` lists them). */
  sources: number;
}

/** The answer to the `status` control call: the daemon's figures and one page of each list. */
export interface BrokerStatus {
  server: string;
  version: string;
  protocol: number;
  uptimeMs: number;
  /** Clients with an id above the call's `clientsAfter`, ascending, at most `limit` of them. */
  clients: ClientStatus[];
  /** Patterns sorted after the call's `subjectsAfter`, at most `limit` of them. */
  subjects: SubjectStatus[];
  /** How many clients and patterns there are in all. */
  clientsTotal: number;
  subjectsTotal: number;
  /** Pass as `clientsAfter` / `subjectsAfter` for the next page; null when this page ends the list. */
  clientsNext: number | null;
  subjectsNext: string | null;
  totals: StatusTotals;
}

/** The arguments of the `status` control call (all optional). */
export interface StatusArgs {
  /** Only clients with a larger id (default 0: from the first). */
  clientsAfter?: number;
  /** Only patterns sorted after this one (default '': from the first). */
  subjectsAfter?: string;
  /** Most clients and most patterns in this answer, 1 to 1000 (default STATUS_PAGE). */
  limit?: number;
}

/** Default and largest page of the `status` call. */
export const STATUS_PAGE = 500;
export const STATUS_PAGE_MAX = 1000;
