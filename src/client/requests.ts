// Request correlation: reqIds and control-call ids in flight, their timeouts on the client's
// clock, and a REPLY status turned into the requester's error through the one table,
// REPLY_STATUS_ERRORS (protocol/constants.ts). Imports protocol/ only.

import type { Clock, TimerHandle } from '../protocol/clock.js';
import { REPLY_STATUS_ERRORS, ReplyStatus } from '../protocol/constants.js';
import type { ReplyFields } from '../protocol/delivery-frames.js';
import { BusError, ErrorCode, type ErrorCodeValue } from '../protocol/errors.js';

/** A reply to a request. */
export interface Reply {
  data: Uint8Array;
  /** Client id of the responder (0: the daemon answered, e.g. a timeout). */
  from: number;
  /** The responder's uid and pid as the kernel reported them; undefined when the daemon could not tell. */
  uid: number | undefined;
  pid: number | undefined;
  type: number | undefined;
  headers: Record<string, string> | undefined;
}

interface Pending {
  resolve: (r: Reply) => void;
  reject: (e: BusError) => void;
  timer: TimerHandle;
  subject: string;
}

/** What each non-OK status means to a requester, after REPLY_STATUS_ERRORS picked the code. */
function replyMessage(status: number, subject: string, data: Uint8Array): string {
  switch (status) {
    case ReplyStatus.NO_RESPONDERS:
      return `no responders for ${subject}`;
    case ReplyStatus.RESPONDER_GONE:
      return `the responder for ${subject} disconnected before answering`;
    case ReplyStatus.BAD_SUBJECT:
      return `the daemon refused the request on ${subject}: ${new TextDecoder().decode(data)}`;
    default:
      return `the responder for ${subject} failed: ${new TextDecoder().decode(data)}`;
  }
}

/** The error a requester sees for a REPLY of `status` (undefined for OK). */
export function replyError(
  status: number,
  subject: string,
  data: Uint8Array,
): BusError | undefined {
  if (status === ReplyStatus.OK) return undefined;
  const code: ErrorCodeValue = REPLY_STATUS_ERRORS[status] ?? ErrorCode.PROTOCOL;
  return new BusError(code, replyMessage(status, subject, data), { detail: { status, subject } });
}

/** A request timeout checked: a positive integer of ms that fits the REQ's u32. */
export function checkTimeout(ms: number): number {
  if (!Number.isInteger(ms) || ms <= 0 || ms > 0xffffffff)
    throw new RangeError('timeoutMs must be a positive integer');
  return ms;
}

/** Requests awaiting their REPLY. reqIds run 1..2^32-1 and wrap. */
export class PendingRequests {
  #clock: Clock;
  #next = 1;
  #map = new Map<number, Pending>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  get size(): number {
    return this.#map.size;
  }

  /** A fresh reqId (one not in flight). */
  nextId(): number {
    let id = this.#next;
    while (this.#map.has(id)) id = id >= 0xffffffff ? 1 : id + 1;
    this.#next = id >= 0xffffffff ? 1 : id + 1;
    return id;
  }

  /** Waits for the REPLY to `reqId`, or rejects with BUS_ERR_TIMEOUT after `timeoutMs`. */
  add(reqId: number, subject: string, timeoutMs: number): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        this.#map.delete(reqId);
        reject(
          new BusError(ErrorCode.TIMEOUT, `no reply on ${subject} within ${timeoutMs} ms`, {
            detail: { reqId, subject, timeoutMs },
          }),
        );
      }, timeoutMs);
      this.#map.set(reqId, { resolve, reject, timer, subject });
    });
  }

  /** Settles the request a REPLY answers; a REPLY for an unknown reqId (timed out) is ignored. */
  settle(r: ReplyFields): boolean {
    const p = this.#map.get(r.reqId);
    if (p === undefined) return false;
    this.#map.delete(r.reqId);
    this.#clock.clearTimeout(p.timer);
    const err = replyError(r.status, p.subject, r.data);
    if (err === undefined)
      p.resolve({
        data: r.data,
        from: r.from,
        uid: r.uid,
        pid: r.pid,
        type: r.type,
        headers: r.headers,
      });
    else p.reject(err);
    return true;
  }

  /** Fails one request (it could not be queued). */
  fail(reqId: number, err: BusError): void {
    const p = this.#map.get(reqId);
    if (p === undefined) return;
    this.#map.delete(reqId);
    this.#clock.clearTimeout(p.timer);
    p.reject(err);
  }

  /** Fails every request in flight; `why` says what happened to the link. */
  failAll(code: ErrorCodeValue, why: string): void {
    const all = [...this.#map.values()];
    this.#map.clear();
    for (const p of all) {
      this.#clock.clearTimeout(p.timer);
      p.reject(new BusError(code, `${why} while waiting for a reply on ${p.subject}`));
    }
  }
}

interface PendingCall {
  resolve: (v: unknown) => void;
  reject: (e: BusError) => void;
}

/** Control calls (CALL) awaiting their CALL_REPLY. */
export class PendingCalls {
  #next = 1;
  #map = new Map<number, PendingCall>();

  /** Registers a call; returns its id and the promise of its result. */
  add(): { cid: number; result: Promise<unknown> } {
    const cid = this.#next++;
    const result = new Promise<unknown>((resolve, reject) => {
      this.#map.set(cid, { resolve, reject });
    });
    return { cid, result };
  }

  /** Settles call `cid`; unknown ids are ignored. */
  settle(cid: number, ok: boolean, result: unknown, err: BusError | undefined): void {
    const c = this.#map.get(cid);
    if (c === undefined) return;
    this.#map.delete(cid);
    if (ok) c.resolve(result);
    else c.reject(err ?? new BusError(ErrorCode.PROTOCOL, 'control call failed'));
  }

  failAll(code: ErrorCodeValue, why: string): void {
    const all = [...this.#map.values()];
    this.#map.clear();
    for (const c of all) c.reject(new BusError(code, `${why} during a control call`));
  }
}
