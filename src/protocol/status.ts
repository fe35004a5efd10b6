// The answer to the `status` control call, as the daemon builds it and clients read it.
// Types only. Imports nothing.

/** One client in `status`. */
export interface ClientStatus {
  id: number;
  name: string;
  /** The process id the client claimed in its HELLO, or null. */
  pid: number | null;
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
   * Connections the daemon could not accept (out of file descriptors: EMFILE, ENFILE; or
   * memory); each such client saw its connection closed at once.
   */
  acceptErrors: number;
}

/** The answer to the `status` control call. */
export interface BrokerStatus {
  server: string;
  version: string;
  protocol: number;
  uptimeMs: number;
  clients: ClientStatus[];
  subjects: SubjectStatus[];
  totals: StatusTotals;
}
