// Helpers shared by the peer adapters: a bounded in-flight window (backpressure for clients
// whose API has none) and request/reply emulation over plain pub/sub for buses without it.

/** Counts operations in flight; publish() returns false once `high` are outstanding. */
export class Window {
  #out = 0;
  #drainWaiters: (() => void)[] = [];
  #idleWaiters: (() => void)[] = [];

  constructor(readonly high: number) {}

  /** Takes a slot; false means the window is full (the caller should wait()). */
  acquire(): boolean {
    this.#out++;
    return this.#out < this.high;
  }

  readonly release = (): void => {
    this.#out--;
    if (this.#out <= this.high >> 1 && this.#drainWaiters.length > 0) {
      for (const w of this.#drainWaiters.splice(0)) w();
    }
    if (this.#out === 0 && this.#idleWaiters.length > 0) {
      for (const w of this.#idleWaiters.splice(0)) w();
    }
  };

  /** Resolves once the window has room again (half empty). */
  wait(): Promise<void> {
    if (this.#out < this.high) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Resolves once nothing is in flight. */
  idle(): Promise<void> {
    if (this.#out === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }
}

/**
 * Publisher backpressure by periodic round trips: every `every` messages a flush (a ping the
 * server answers after everything before it) is started; at most `max` may be outstanding.
 */
export class FlushWindow {
  #count = 0;
  readonly #window: Window;

  constructor(
    readonly flush: () => Promise<unknown>,
    readonly every = 1024,
    max = 4,
  ) {
    this.#window = new Window(max);
  }

  /** Call once per publish; false means wait() before the next. */
  tick(): boolean {
    if (++this.#count % this.every !== 0) return true;
    const ok = this.#window.acquire();
    this.flush().then(this.#window.release, this.#window.release);
    return ok;
  }

  wait(): Promise<void> {
    return this.#window.wait();
  }
}

/** Request wire layout for emulated request/reply: u8 inbox length, inbox, u32 BE id, body. */
export function wrapRequest(inbox: Buffer, id: number, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(1 + inbox.length + 4 + body.length);
  out[0] = inbox.length;
  inbox.copy(out, 1);
  out.writeUInt32BE(id, 1 + inbox.length);
  out.set(body, 5 + inbox.length);
  return out;
}

/** Splits an emulated request into reply subject, reply prefix (the id) and body. */
export function unwrapRequest(buf: Buffer): { inbox: string; id: Buffer; body: Buffer } {
  const n = buf[0] ?? 0;
  return {
    inbox: buf.toString('latin1', 1, 1 + n),
    id: buf.subarray(1 + n, 5 + n),
    body: buf.subarray(5 + n),
  };
}

/** Reply wire layout: u32 BE id, body. */
export function wrapReply(id: Buffer, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + body.length);
  id.copy(out, 0);
  out.set(body, 4);
  return out;
}

interface Pending {
  resolve: (d: Uint8Array) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** Outstanding emulated requests keyed by id. */
export class Requests {
  #next = 1;
  readonly #pending = new Map<number, Pending>();

  /** Registers a request; returns its id and the promise of its reply. */
  add(timeoutMs: number): { id: number; reply: Promise<Uint8Array> } {
    const id = this.#next;
    this.#next = (this.#next + 1) >>> 0 || 1;
    const reply = new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error('request timed out'));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
    });
    return { id, reply };
  }

  /** Settles the request a reply (u32 BE id, body) belongs to. */
  settle(reply: Buffer): void {
    if (reply.length < 4) return;
    const id = reply.readUInt32BE(0);
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    clearTimeout(p.timer);
    p.resolve(reply.subarray(4));
  }
}

/** Buffer view of bytes without copying. */
export function asBuffer(d: Uint8Array): Buffer {
  return Buffer.isBuffer(d) ? d : Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}
