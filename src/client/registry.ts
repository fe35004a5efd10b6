// The client's registrations: subscriptions and responders by sid, what to send again after a
// reconnect, and the subject checks of the verbs. Imports protocol/ and client/ types.

import type { SubFields } from '../protocol/control-frames.js';
import { BusError, ErrorCode } from '../protocol/errors.js';
import { subjectProblem } from '../protocol/subject.js';
import { varintSize } from '../protocol/varint.js';
import type { ServeHandler } from './responder.js';
import type { Subscription } from './subscription.js';

/** Subscriptions and responders of one client, by sid. */
export class Registry {
  readonly subs = new Map<number, Subscription>();
  readonly serves = new Map<number, ServeHandler>();
  #nextSid = 1;

  /** A sid for a new registration. */
  nextSid(): number {
    return this.#nextSid++;
  }

  add(sub: Subscription, handler: ServeHandler | undefined): void {
    this.subs.set(sub.sid, sub);
    if (handler !== undefined) this.serves.set(sub.sid, handler);
  }

  remove(sid: number): void {
    this.subs.delete(sid);
    this.serves.delete(sid);
  }

  /** The SUB frame's fields of one registration. */
  fields(s: Subscription): SubFields {
    return {
      sid: s.sid,
      subject: s.subject,
      queue: s.queue,
      serve: this.serves.has(s.sid),
      onSlow: s.onSlow,
      current: s.current,
      monitor: s.monitor,
    };
  }

  /** The SUB frames' fields of every registration, sent again after each handshake. */
  *registrations(): Iterable<SubFields> {
    for (const s of this.subs.values()) yield this.fields(s);
  }

  /** Tells every subscription (not the responders) that the link was lost and is back. */
  reconnected(): void {
    for (const s of this.subs.values()) if (!this.serves.has(s.sid)) s.reconnected();
  }

  /** Ends every subscription (the client closed). */
  endAll(): void {
    for (const sub of this.subs.values()) sub.end();
  }
}

/** Subject checks, with a cache of literal subjects already found valid. */
export class SubjectCheck {
  #valid = new Set<string>();

  /** Throws BUS_ERR_BAD_SUBJECT (TypeError for a non-string) unless `subject` is valid. */
  check(subject: string, wildcards: boolean): void {
    if (typeof subject !== 'string') throw new TypeError('subject must be a string');
    if (!wildcards && this.#valid.has(subject)) return;
    const problem = subjectProblem(subject, wildcards);
    if (problem !== null) throw new BusError(ErrorCode.BAD_SUBJECT, problem);
    if (!wildcards && this.#valid.size < 10_000) this.#valid.add(subject);
  }

  /** Throws BUS_ERR_BAD_SUBJECT for a bad queue group name. */
  queue(queue: string | undefined): void {
    if (queue !== undefined && subjectProblem(queue, false) !== null)
      throw new BusError(ErrorCode.BAD_SUBJECT, `bad queue group name ${JSON.stringify(queue)}`);
  }
}

/** A priority option checked: 0..255, default 0. */
export function priorityOf(p: number | undefined): number {
  if (p === undefined) return 0;
  if (!Number.isInteger(p) || p < 0 || p > 255)
    throw new RangeError('priority must be an integer from 0 to 255');
  return p;
}

/** Refuses a frame whose body would exceed `max` (`size` includes the length prefix). */
export function checkFrameSize(size: number, max: number): void {
  const body = size - varintSize(size);
  if (body > max)
    throw new BusError(
      ErrorCode.FRAME_TOO_LARGE,
      `message of ${body} bytes exceeds the daemon's frame limit of ${max} bytes`,
    );
}
