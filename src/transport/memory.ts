// An in-memory transport: a duplex pair between a client Link and any Attachable (protocol/conn.ts:
// a Broker structurally, or a fake daemon in tests). No sockets, no timers: bytes move in
// microtasks. Imports protocol/conn and transport/link (types only).

import type { Attachable, Conn, ConnEvents } from '../protocol/conn.js';
import type { Dialer, DialOptions, Link, LinkHandlers } from './link.js';

export type { Attachable };

/** Bytes the server may have waiting for a paused client before its write() returns false. */
const HIGH_WATER = 64 * 1024;

/** One connection of a MemoryTransport. */
export class MemoryLink implements Link {
  #handlers: LinkHandlers;
  #events: ConnEvents | undefined;
  #closed = false;
  // Client to server.
  #up: { bytes: Uint8Array; done: ((err?: Error | null) => void) | undefined }[] = [];
  #upScheduled = false;
  #serverPaused = false;
  #clientEnding = false;
  // Server to client.
  #down: Uint8Array[] = [];
  #downBytes = 0;
  #downScheduled = false;
  #clientPaused = false;
  #serverEnding = false;
  #serverWantsDrain = false;

  constructor(handlers: LinkHandlers) {
    this.#handlers = handlers;
  }

  /** True once either side closed it. */
  get closed(): boolean {
    return this.#closed;
  }

  /** True while the server side stopped reading (broker flow control). */
  get serverPaused(): boolean {
    return this.#serverPaused;
  }

  /** Bytes the server wrote that the client has not read yet. */
  get pendingToClient(): number {
    return this.#downBytes;
  }

  /** @internal connects the pair to `target`. */
  open(target: Attachable): void {
    if (this.#closed) return;
    const conn: Conn = {
      write: (bytes) => this.#serverWrite(bytes),
      pause: () => {
        this.#serverPaused = true;
      },
      resume: () => {
        this.#serverPaused = false;
        this.#scheduleUp();
      },
      end: () => {
        this.#serverEnding = true;
        this.#scheduleDown();
      },
      destroy: () => this.#shut(undefined),
    };
    this.#events = target.attach(conn);
    this.#handlers.connect();
  }

  write(bytes: Uint8Array, onFlushed?: (err?: Error | null) => void): boolean {
    if (this.#closed || this.#clientEnding) {
      if (onFlushed !== undefined) queueMicrotask(() => onFlushed(new Error('link closed')));
      return false;
    }
    this.#up.push({ bytes: bytes.slice(), done: onFlushed });
    this.#scheduleUp();
    return true;
  }

  pause(): void {
    this.#clientPaused = true;
  }

  resume(): void {
    this.#clientPaused = false;
    this.#scheduleDown();
  }

  end(): void {
    this.#clientEnding = true;
    this.#scheduleUp();
  }

  destroy(err?: Error): void {
    this.#shut(err);
  }

  #serverWrite(bytes: Uint8Array): boolean {
    if (this.#closed) return false;
    this.#down.push(bytes.slice());
    this.#downBytes += bytes.length;
    this.#scheduleDown();
    if (this.#downBytes > HIGH_WATER) {
      this.#serverWantsDrain = true;
      return false;
    }
    return true;
  }

  #scheduleUp(): void {
    if (this.#upScheduled) return;
    this.#upScheduled = true;
    queueMicrotask(this.#flushUp);
  }

  #flushUp = (): void => {
    this.#upScheduled = false;
    while (!this.#closed && !this.#serverPaused && this.#up.length > 0) {
      const w = this.#up.shift()!;
      this.#events!.data(w.bytes);
      w.done?.(null);
    }
    if (this.#clientEnding && this.#up.length === 0) this.#shut(undefined);
  };

  #scheduleDown(): void {
    if (this.#downScheduled) return;
    this.#downScheduled = true;
    queueMicrotask(this.#flushDown);
  }

  #flushDown = (): void => {
    this.#downScheduled = false;
    while (!this.#closed && !this.#clientPaused && this.#down.length > 0) {
      const chunk = this.#down.shift()!;
      this.#downBytes -= chunk.length;
      this.#handlers.data(chunk);
    }
    if (this.#closed) return;
    if (this.#serverWantsDrain && this.#downBytes === 0) {
      this.#serverWantsDrain = false;
      this.#events!.drain();
    }
    // The client sees EOF only after reading what came before it.
    if (this.#serverEnding && this.#down.length === 0) this.#shut(undefined);
  };

  #shut(err: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#up) w.done?.(new Error('link closed'));
    this.#up = [];
    this.#down = [];
    this.#downBytes = 0;
    if (err !== undefined) this.#handlers.error(err);
    this.#handlers.close();
    this.#events?.close();
  }
}

/**
 * Dials in memory: `new MemoryTransport(broker).dial` is a client `dial` option. Tests may
 * refuse new connections (`refuse`) or break the live ones (`dropAll`).
 */
export class MemoryTransport {
  readonly target: Attachable;
  /** When set, dials fail with this errno code (e.g. 'ECONNREFUSED'). */
  refuse: string | undefined;
  /** Every link dialled, in order. */
  readonly links: MemoryLink[] = [];
  /** Dial attempts, refused ones included. */
  dials = 0;

  constructor(target: Attachable) {
    this.target = target;
  }

  dial: Dialer = (path: string, handlers: LinkHandlers, _options: DialOptions): Link => {
    this.dials++;
    const link = new MemoryLink(handlers);
    const refuse = this.refuse;
    queueMicrotask(() => {
      if (refuse !== undefined) {
        const err = Object.assign(new Error(`connect ${refuse} ${path}`), { code: refuse });
        link.destroy(err);
        return;
      }
      this.links.push(link);
      link.open(this.target);
    });
    return link;
  };

  /** Breaks every live link at once, as a crashed peer would. */
  dropAll(): void {
    for (const l of this.links) l.destroy();
  }

  /** The most recent live link, if any. */
  get current(): MemoryLink | undefined {
    const l = this.links[this.links.length - 1];
    return l === undefined || l.closed ? undefined : l;
  }
}
