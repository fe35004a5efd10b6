// The one seam between the broker and a transport: what the broker may do to a connection, and
// what a transport attaches connections to. Imports nothing; the Unix-socket server and the
// in-memory pair implement Conn, and a Broker is an Attachable (structurally).

/** Who is at the other end, as the kernel recorded it at connect time (SO_PEERCRED). */
export interface PeerCredentials {
  /**
   * The process that connected; 0 when the kernel says it had already exited when the daemon
   * accepted the connection (SO_PEERPIDFD), so the number may name another process by now.
   */
  pid: number;
  uid: number;
  gid: number;
}

/** A byte connection to one client, as the broker sees it. */
export interface Conn {
  /** The peer's kernel-verified credentials; absent when the transport cannot tell. */
  readonly peer?: PeerCredentials;
  /** Queues bytes for the peer. `false` means the transport is saturated: wait for drain. */
  write(bytes: Uint8Array): boolean;
  /** Stops delivering input from the peer (backpressure on a producer). */
  pause(): void;
  /** Delivers input again after pause(). */
  resume(): void;
  /** Closes the connection fully (not a half-close) once what was written has been flushed. */
  end(): void;
  /** Closes at once, discarding unwritten bytes. */
  destroy(): void;
}

/** What the transport tells the broker about a connection's lifetime. */
export interface ConnEvents {
  /** Bytes arrived from the peer. */
  data: (chunk: Uint8Array) => void;
  /** The transport can take writes again after write() returned false. */
  drain: () => void;
  /** The connection is gone (after end(), destroy(), or the peer leaving). */
  close: () => void;
  /**
   * The peer has finished sending (end of input; it may still read). The broker answers what is
   * pending where it must, then calls end(). A transport without it closes as before.
   */
  end?: () => void;
}

/** What a transport attaches a connection to (a Broker, structurally). */
export interface Attachable {
  attach(conn: Conn): ConnEvents;
  /**
   * The listening socket failed to accept a connection (`code`: EMFILE, ENFILE, ENOMEM, ...);
   * the transport keeps listening. For counting and a rate-limited log line.
   */
  acceptFailed?(code: string): void;
}
