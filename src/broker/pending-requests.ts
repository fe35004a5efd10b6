// Request correlation: each request routed to a responder gets a token and an exact deadline on
// the clock; at the deadline the requester gets REPLY status TIMEOUT and a later RES is dropped.
// Imports only protocol/ and broker/.

import type { Clock, TimerHandle } from '../protocol/clock.js';
import type { Session } from './session.js';

/** One request waiting for its RES. */
export interface Pending {
  readonly token: number;
  readonly requester: Session;
  readonly reqId: number;
  readonly responder: Session;
  readonly timeoutMs: number;
  /** The request's subject and when it was routed (clock ms): for monitors' reply latency. */
  readonly subject: string;
  readonly openedAt: number;
  timer: TimerHandle;
}

/** What the daemon keeps a request open for when the REQ says 0: one hour. */
export const MAX_REQUEST_MS = 3_600_000;

export class PendingRequests {
  readonly #clock: Clock;
  readonly #onTimeout: (p: Pending) => void;
  readonly #byToken = new Map<number, Pending>();
  readonly #byResponder = new Map<Session, Set<number>>();
  #nextToken = 1;
  /** RES frames dropped because their request was no longer open (timed out or answered). */
  late = 0;

  /** `onTimeout` runs at a request's deadline, after the request was forgotten. */
  constructor(clock: Clock, onTimeout: (p: Pending) => void) {
    this.#clock = clock;
    this.#onTimeout = onTimeout;
  }

  /** Requests waiting for an answer. */
  get size(): number {
    return this.#byToken.size;
  }

  /** Requests `responder` has to answer. */
  load(responder: Session): number {
    return this.#byResponder.get(responder)?.size ?? 0;
  }

  /** Opens a request; its deadline is `timeoutMs` from now (0 = MAX_REQUEST_MS). Returns its token. */
  open(
    requester: Session,
    reqId: number,
    responder: Session,
    timeoutMs: number,
    subject = '',
  ): number {
    const token = this.#nextToken++;
    const ms = timeoutMs === 0 ? MAX_REQUEST_MS : timeoutMs;
    const p: Pending = {
      token,
      requester,
      reqId,
      responder,
      timeoutMs: ms,
      subject,
      openedAt: this.#clock.now(),
      timer: undefined,
    };
    p.timer = this.#clock.setTimeout(() => {
      if (this.#forget(p)) this.#onTimeout(p);
    }, ms);
    this.#byToken.set(token, p);
    let tokens = this.#byResponder.get(responder);
    if (tokens === undefined) this.#byResponder.set(responder, (tokens = new Set()));
    tokens.add(token);
    return token;
  }

  /**
   * The RES of `responder` for `token`: returns the request and closes it, or undefined (and
   * counts a late answer) when it is not open for this responder.
   */
  settle(token: number, responder: Session): Pending | undefined {
    const p = this.#byToken.get(token);
    if (p === undefined || p.responder !== responder) {
      this.late++;
      return undefined;
    }
    this.#clock.clearTimeout(p.timer);
    this.#forget(p);
    return p;
  }

  /** Closes every request `responder` had to answer; returns them. */
  responderGone(responder: Session): Pending[] {
    const tokens = this.#byResponder.get(responder);
    if (tokens === undefined) return [];
    const gone: Pending[] = [];
    for (const token of tokens) {
      const p = this.#byToken.get(token);
      if (p === undefined) continue;
      this.#clock.clearTimeout(p.timer);
      this.#byToken.delete(token);
      gone.push(p);
    }
    this.#byResponder.delete(responder);
    return gone;
  }

  /** Cancels every deadline (shutdown). */
  clear(): void {
    for (const p of this.#byToken.values()) this.#clock.clearTimeout(p.timer);
    this.#byToken.clear();
    this.#byResponder.clear();
  }

  #forget(p: Pending): boolean {
    if (!this.#byToken.delete(p.token)) return false;
    const tokens = this.#byResponder.get(p.responder);
    if (tokens !== undefined) {
      tokens.delete(p.token);
      if (tokens.size === 0) this.#byResponder.delete(p.responder);
    }
    return true;
  }
}
