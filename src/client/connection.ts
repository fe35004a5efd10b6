// The link to the daemon over time: dial through the `dial` seam, HELLO handshake, keepalive
// and idle timeout, reconnect with backoff and jitter, re-subscribe after each handshake, and
// input flow control (pause/resume). Imports protocol/ and transport/ types.

import type { Clock, TimerHandle } from '../protocol/clock.js';
import {
  DAEMON_FRAME_SLACK,
  DEFAULT_MAX_FRAME,
  Op,
  PROTOCOL_VERSION,
} from '../protocol/constants.js';
import {
  decodeError,
  decodeServerHello,
  encodeBare,
  encodeHello,
  encodeSub,
  errorFromFrame,
  type ServerHello,
  type SubFields,
} from '../protocol/control-frames.js';
import { BusError, ErrorCode } from '../protocol/errors.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import type { Link } from '../transport/link.js';
import type { ResolvedOptions } from './options.js';

/** What the connection tells its client. */
export interface ConnectionHooks {
  /** A frame after the handshake, as `buf[start..end)`. */
  frame(buf: Uint8Array, start: number, end: number): void;
  /** The registrations to send again after each handshake, before anything else. */
  registrations(): Iterable<SubFields>;
  /** A handshake completed on `link` (`again`: after a reconnect). */
  up(link: Link, again: boolean): void;
  /** The link was lost after its handshake (requests in flight fail). */
  down(err: BusError): void;
  /** A control frame (PING) through the client's send queue, so it keeps its order. */
  send(frame: Uint8Array): void;
  /** The link takes writes again. */
  writable(): void;
  /** Lost, and a reconnect is scheduled. */
  disconnected(err: BusError): void;
  /** The connection ended for good (closed, or reconnect gave up); `wasClosed` when by close(). */
  finished(err: BusError | undefined, wasClosed: boolean): void;
}

const NOOP = (): void => undefined;

/** One client's connection to the daemon, across reconnects. */
export class Connection {
  /** Resolves after the first handshake; rejects if it fails. */
  readonly ready: Promise<void>;
  /** Handshakes after the first. */
  reconnects = 0;
  #o: ResolvedOptions;
  #clock: Clock;
  #hooks: ConnectionHooks;
  #link: Link | null = null;
  #server: ServerHello | undefined;
  #online = false;
  #closed = false;
  #closeError: BusError | undefined;
  #attempt = 0;
  #reconnectTimer: TimerHandle;
  #pingTimer: TimerHandle;
  #pingsOut = 0;
  #lastInput = 0;
  #inputPaused = false;
  // flush() waiters answered by PONGs in order; those of a lost link wait for the next one.
  #pongs: (() => void)[] = [];
  #pongsAfterReconnect: (() => void)[] = [];
  #whenFinished: (() => void)[] = [];

  constructor(options: ResolvedOptions, hooks: ConnectionHooks) {
    this.#o = options;
    this.#clock = options.clock;
    this.#hooks = hooks;
    this.ready = new Promise<void>((resolve, reject) => {
      this.#open(resolve, reject);
    });
    // Errors before the first handshake are reported by `ready`; avoid an unhandled rejection.
    this.ready.catch(NOOP);
  }

  get server(): ServerHello | undefined {
    return this.#server;
  }

  get online(): boolean {
    return this.#online;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get inputPaused(): boolean {
    return this.#inputPaused;
  }

  /** Largest message body the daemon accepts. */
  get maxFrame(): number {
    return this.#server?.maxFrame ?? DEFAULT_MAX_FRAME;
  }

  #open(onReady?: () => void, onFail?: (e: BusError) => void): void {
    const o = this.#o;
    const decoder = new FrameDecoder(DEFAULT_MAX_FRAME + DAEMON_FRAME_SLACK);
    let handshaken = false;
    let failure: BusError | undefined;
    this.#closeError = undefined;
    const onFrame = (buf: Uint8Array, start: number, end: number): void => {
      if (handshaken) {
        this.#hooks.frame(buf, start, end);
        return;
      }
      const body = buf.subarray(start, end);
      if (body[0] === Op.ERROR) {
        link.destroy(errorFromFrame(decodeError(body)));
        return;
      }
      this.#server = decodeServerHello(body);
      decoder.maxFrame = this.#server.maxFrame + DAEMON_FRAME_SLACK;
      handshaken = true;
      this.#clock.clearTimeout(timer);
      this.#online = true;
      this.#attempt = 0;
      this.#afterHandshake(link, onReady === undefined);
      onReady?.();
    };
    const link = o.dial(
      o.path,
      {
        connect: () => {
          link.write(
            encodeHello(PROTOCOL_VERSION, { name: o.name, pid: process.pid, pingMs: o.pingMs }),
          );
        },
        data: (chunk) => {
          this.#lastInput = this.#clock.now();
          this.#pingsOut = 0;
          try {
            decoder.pushRanges(chunk, onFrame);
          } catch (err) {
            link.destroy(
              err instanceof BusError
                ? err
                : new BusError(ErrorCode.PROTOCOL, (err as Error).message, {
                    fatal: true,
                    cause: err,
                  }),
            );
          }
        },
        drain: () => this.#hooks.writable(),
        error: (err: NodeJS.ErrnoException) => {
          failure =
            err instanceof BusError
              ? err
              : new BusError(
                  ErrorCode.CONNECT,
                  err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
                    ? `no udsbus daemon at ${o.path} (${err.code})`
                    : `socket error on ${o.path}: ${err.message}`,
                  { cause: err },
                );
        },
        close: () => {
          this.#clock.clearTimeout(timer);
          if (this.#link === link) this.#link = null;
          if (!handshaken) {
            const e =
              failure ??
              new BusError(
                ErrorCode.CONNECT,
                `the daemon at ${o.path} closed the connection during the handshake`,
              );
            if (onFail !== undefined) {
              this.#closed = true;
              onFail(e);
              this.#settleFinished();
              return;
            }
            this.#scheduleReconnect(e);
            return;
          }
          this.#lost(
            failure ??
              this.#closeError ??
              new BusError(ErrorCode.DISCONNECTED, `connection to ${o.path} lost`),
          );
        },
      },
      { sockBuf: o.sockBuf },
    );
    this.#link = link;
    const timer = this.#clock.setTimeout(() => {
      link.destroy(
        new BusError(
          ErrorCode.HANDSHAKE,
          `no HELLO from the daemon within ${o.connectTimeoutMs} ms`,
        ),
      );
    }, o.connectTimeoutMs);
  }

  /** After each handshake: re-register, then let the client send what it queued. */
  #afterHandshake(link: Link, again: boolean): void {
    for (const sub of this.#hooks.registrations()) link.write(encodeSub(sub));
    if (this.#inputPaused) link.pause();
    if (again) this.reconnects++;
    this.#hooks.up(link, again);
    this.#startPing();
    if (again) {
      const waiters = this.#pongsAfterReconnect;
      this.#pongsAfterReconnect = [];
      if (waiters.length > 0) this.flush(() => waiters.forEach((w) => w()));
    }
  }

  #startPing(): void {
    this.#clock.clearInterval(this.#pingTimer);
    const { pingMs, idleTimeoutMs, maxPingsOut } = this.#o;
    if (pingMs === 0 && idleTimeoutMs === 0) return;
    this.#lastInput = this.#clock.now();
    const every = Math.min(pingMs || Infinity, idleTimeoutMs || Infinity);
    this.#pingTimer = this.#clock.setInterval(() => {
      const link = this.#link;
      // A paused reader cannot see PONGs: keepalive waits while input is paused.
      if (link === null || !this.#online || this.#inputPaused) return;
      const idle = this.#clock.now() - this.#lastInput;
      if (idleTimeoutMs > 0 && pingMs === 0 && idle >= idleTimeoutMs) {
        link.destroy(
          new BusError(ErrorCode.DISCONNECTED, `no input from the daemon for ${idleTimeoutMs} ms`),
        );
        return;
      }
      if (pingMs > 0) {
        if (this.#pingsOut >= maxPingsOut) {
          link.destroy(new BusError(ErrorCode.DISCONNECTED, `${this.#pingsOut} pings unanswered`));
          return;
        }
        this.#pingsOut++;
        this.flush(NOOP);
      }
    }, every);
  }

  /** Sends a PING; `done` runs at its PONG (or after the next handshake if the link is down). */
  flush(done: () => void): void {
    if (!this.#online) {
      this.#pongsAfterReconnect.push(done);
      return;
    }
    this.#pongs.push(done);
    this.#hooks.send(encodeBare(Op.PING));
  }

  /** A PONG arrived. */
  pong(): void {
    this.#pongs.shift()?.();
  }

  /** The daemon PINGed: answer at once, ahead of queued output. */
  answerPing(): void {
    this.#link?.write(encodeBare(Op.PONG));
  }

  /** A fatal ERROR from the daemon: remember it as the reason, and close unless it closes itself. */
  fatal(err: BusError, daemonCloses: boolean): void {
    this.#closeError = err;
    if (!daemonCloses) this.#link?.destroy(err);
  }

  /** Breaks the link because the daemon broke the protocol. */
  destroy(err: BusError): void {
    this.#link?.destroy(err);
  }

  pauseInput(): void {
    if (this.#inputPaused) return;
    this.#inputPaused = true;
    this.#link?.pause();
  }

  resumeInput(): void {
    if (!this.#inputPaused) return;
    this.#inputPaused = false;
    this.#lastInput = this.#clock.now();
    this.#pingsOut = 0;
    this.#link?.resume();
  }

  #lost(err: BusError): void {
    this.#online = false;
    this.#clock.clearInterval(this.#pingTimer);
    this.#hooks.down(err);
    const pongs = this.#pongs;
    this.#pongs = [];
    if (this.#closed || this.#o.reconnect === null) {
      for (const p of pongs) p();
      this.#finish(err);
      return;
    }
    // flush() waiters carry over: they are answered after the reconnect.
    this.#pongsAfterReconnect.push(...pongs);
    this.#hooks.disconnected(err);
    this.#scheduleReconnect(err);
  }

  #scheduleReconnect(err: BusError): void {
    const r = this.#o.reconnect;
    if (this.#closed) {
      this.#finish(this.#closeError ?? err);
      return;
    }
    if (r === null || this.#attempt >= r.maxAttempts) {
      this.#finish(err);
      return;
    }
    const base = Math.min(r.maxMs, r.minMs * r.factor ** this.#attempt);
    const delay = Math.max(0, base * (1 + r.jitter * (Math.random() * 2 - 1)));
    this.#attempt++;
    this.#reconnectTimer = this.#clock.setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (!this.#closed) this.#open();
    }, delay);
    // Between links nothing else holds the process open: the wait for a reconnect does, as the
    // socket it replaces did (the system clock's timers are unref'd).
    (this.#reconnectTimer as { ref?: () => void } | undefined)?.ref?.();
  }

  #finish(err: BusError | undefined): void {
    const wasClosed = this.#closed;
    this.#closed = true;
    this.#online = false;
    this.#clock.clearInterval(this.#pingTimer);
    this.#clock.clearTimeout(this.#reconnectTimer);
    for (const p of this.#pongsAfterReconnect) p();
    this.#pongsAfterReconnect = [];
    this.#hooks.finished(err, wasClosed);
    this.#settleFinished();
  }

  #settleFinished(): void {
    const w = this.#whenFinished;
    this.#whenFinished = [];
    for (const f of w) f();
  }

  /** Waits until everything sent so far reached the daemon (a PING round trip), at most `ms`. */
  async drain(ms: number): Promise<void> {
    if (!this.#online || ms <= 0) return;
    let timer: TimerHandle;
    await new Promise<void>((resolve) => {
      timer = this.#clock.setTimeout(resolve, ms);
      this.flush(resolve);
    });
    this.#clock.clearTimeout(timer);
  }

  /** Closes for good: ends the link after what was written, then resolves. */
  close(): Promise<void> {
    if (this.#closed && this.#link === null) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#whenFinished.push(resolve));
    this.#closed = true;
    this.#clock.clearTimeout(this.#reconnectTimer);
    const link = this.#link;
    if (link === null) this.#finish(new BusError(ErrorCode.CLOSED, 'closed'));
    else {
      this.#closeError = new BusError(ErrorCode.CLOSED, 'closed');
      link.end();
    }
    return done;
  }
}
