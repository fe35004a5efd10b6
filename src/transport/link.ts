// The seam between the client and a byte transport: what a client may do to a link, what the
// link tells it, and the dialer that makes one. Types only; imports nothing.

/** What a link reports to its owner. Exactly one `close` ends every link. */
export interface LinkHandlers {
  /** The link is up; bytes may flow. */
  connect(): void;
  /** Bytes arrived. The chunk is the owner's to keep. */
  data(chunk: Uint8Array): void;
  /** The link can take writes again after write() returned false. */
  drain(): void;
  /** The link failed; `close` follows. */
  error(err: Error): void;
  /** The link is gone. */
  close(): void;
}

/** A byte connection to the daemon, as the client sees it. */
export interface Link {
  /**
   * Queues bytes (not copied: the caller must not change them). `onFlushed` runs once they
   * have left the process (or with an error when the link broke first). `false` means wait
   * for `drain`.
   */
  write(bytes: Uint8Array, onFlushed?: (err?: Error | null) => void): boolean;
  /** Stops reading: no `data` until resume(), so the peer sees a slow reader. */
  pause(): void;
  resume(): void;
  /** Closes after what was written has been flushed. */
  end(): void;
  /** Closes at once; `error` is reported first when `err` is given. */
  destroy(err?: Error): void;
}

/** Options a dialer may use. */
export interface DialOptions {
  /** Send buffer to ask for, bytes (0 = the system default). */
  sockBuf: number;
}

/** Opens a link to `path`; reports through `handlers`, never throws for a failed connect. */
export type Dialer = (path: string, handlers: LinkHandlers, options: DialOptions) => Link;
