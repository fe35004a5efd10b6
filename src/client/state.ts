// Shared state on the client side: the types of `set`/`get`/`delete`/`keys`/`watch`, the
// checks of their results, and `Watch`, a subscription on `$STATE.<pattern>` whose messages
// are read as state events. Imports node:events, protocol/ and client/.

import { EventEmitter } from 'node:events';
import { BusError, ErrorCode } from '../protocol/errors.js';
import {
  STATE_PREFIX,
  StateEventOp,
  StateHeader,
  stateKeyProblem,
  type StateEventOpValue,
} from '../protocol/state.js';
import type { GapInfo, Msg, Subscription } from './subscription.js';

/** Options of `Client.set`. */
export interface SetOptions {
  /**
   * Compare-and-set: the write happens only if the key's revision is still this one (0: only if
   * the key does not exist); else the promise rejects with BUS_ERR_CONFLICT.
   */
  ifRevision?: number;
  /** Keep the value across daemon restarts (the daemon's state file). Default false. */
  persist?: boolean;
  /** Application type (uint32), as on a message; watchers see it as the message's type. */
  type?: number;
}

/** What `set` and `delete` resolve to: the revision of the change and the key's revision before it. */
export interface StateWrite {
  revision: number;
  /** The key's revision before the change; 0 when it did not exist. */
  prev: number;
}

/** A value as `get` returns it. */
export interface StateValue {
  key: string;
  value: Uint8Array;
  revision: number;
  type?: number;
  persist: boolean;
}

/** A key as `keys` lists it. */
export interface StateKeyInfo {
  key: string;
  /** Bytes of the value. */
  size: number;
  revision: number;
  type?: number;
  persist: boolean;
}

/**
 * What a watcher receives: the key's current value when the watch starts (`current: true`), then
 * every change. Revisions come from one store-wide counter: they only grow, also across a
 * deletion and re-creation. A change carries `prev`, the revision it replaced (0 when the key did
 * not exist), so a watcher that keeps the last revision it saw per key can tell it missed nothing:
 * `prev` equals it (or is 0 after a deletion it saw).
 */
export interface StateEvent {
  key: string;
  /** The new value (empty for a deletion). */
  value: Uint8Array;
  revision: number;
  /** The revision this change replaced; undefined for a current value. */
  prev: number | undefined;
  /** True when the key was deleted. */
  deleted: boolean;
  /** True for a value that was current when the watch started (or after a reconnect). */
  current: boolean;
  type: number | undefined;
  /** The client id, uid and pid of whoever made the change (the daemon, 0, for loaded values). */
  from: number;
  uid: number | undefined;
  pid: number | undefined;
}

/** Throws BUS_ERR_BAD_SUBJECT unless `key` is a valid key (or key pattern, with `wildcards`). */
export function checkStateKey(key: string, wildcards = false): void {
  if (typeof key !== 'string') throw new TypeError('key must be a string');
  const problem = stateKeyProblem(key, wildcards);
  if (problem !== null) throw new BusError(ErrorCode.BAD_SUBJECT, problem);
}

/** Checks `ifRevision`. */
export function checkRevision(v: number | undefined): number | undefined {
  if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0))
    throw new RangeError('ifRevision must be an integer of at least 0');
  return v;
}

function bad(what: string): BusError {
  return new BusError(ErrorCode.PROTOCOL, `malformed ${what} result from the daemon`);
}

function isUint(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(what);
  return v as Record<string, unknown>;
}

/** The result of `state.set` / `state.delete`, checked. */
export function writeResult(v: unknown, what: string): StateWrite {
  const o = obj(v, what);
  const { revision, prev } = o;
  if (!isUint(revision) || !isUint(prev)) throw bad(what);
  return { revision, prev };
}

function optType(o: Record<string, unknown>, what: string): { type?: number } {
  const t = o['type'];
  if (t === undefined) return {};
  if (!isUint(t)) throw bad(what);
  return { type: t };
}

/** The result of `state.get`, checked. */
export function valueResult(v: unknown): StateValue {
  const o = obj(v, 'state.get');
  const { key, value, revision, persist } = o;
  if (typeof key !== 'string' || !(value instanceof Uint8Array) || !isUint(revision))
    throw bad('state.get');
  return { key, value, revision, ...optType(o, 'state.get'), persist: persist === true };
}

/** One page of `state.keys`, checked. */
export function keysPage(v: unknown): { keys: StateKeyInfo[]; next: string | null } {
  const o = obj(v, 'state.keys');
  const { keys, next } = o;
  if (!Array.isArray(keys) || !(next === null || typeof next === 'string')) throw bad('state.keys');
  return {
    keys: keys.map((k) => {
      const e = obj(k, 'state.keys');
      const { key, size, revision, persist } = e;
      if (typeof key !== 'string' || !isUint(size) || !isUint(revision)) throw bad('state.keys');
      return { key, size, revision, ...optType(e, 'state.keys'), persist: persist === true };
    }),
    next,
  };
}

/** The state event a message on `$STATE.<key>` carries, or undefined when it is not one. */
export function stateEvent(msg: Msg): StateEvent | undefined {
  if (!msg.subject.startsWith(STATE_PREFIX)) return undefined;
  const h = msg.headers;
  const op = h?.[StateHeader.OP] as StateEventOpValue | undefined;
  const rev = Number(h?.[StateHeader.REV]);
  if (op === undefined || !Number.isSafeInteger(rev)) return undefined;
  const prevText = h?.[StateHeader.PREV];
  return {
    key: msg.subject.slice(STATE_PREFIX.length),
    value: msg.data.slice(),
    revision: rev,
    prev: prevText === undefined ? undefined : Number(prevText),
    deleted: op === StateEventOp.DEL,
    current: op === StateEventOp.CURRENT,
    type: msg.type,
    from: msg.from,
    uid: msg.uid,
    pid: msg.pid,
  };
}

/**
 * A watch over keys matching a pattern: a subscription on `$STATE.<pattern>` that first
 * receives the current values. Consume with the handler given to `watch` or with
 * `for await (const ev of watch)`. Emits `gap` (GapInfo) like a subscription: after one, values
 * may have been missed (after a reconnect the current values arrive again).
 */
export class Watch extends EventEmitter implements AsyncIterable<StateEvent> {
  /** The key pattern. */
  readonly pattern: string;
  readonly #sub: Subscription;

  /** @internal */
  constructor(pattern: string, sub: Subscription) {
    super();
    this.pattern = pattern;
    this.#sub = sub;
    sub.on('gap', (g: GapInfo) => this.emit('gap', g));
  }

  /** The underlying subscription (its sid, counters). */
  get subscription(): Subscription {
    return this.#sub;
  }

  get closed(): boolean {
    return this.#sub.closed;
  }

  /** Stops the watch; an iterator over it ends. */
  unsubscribe(): void {
    this.#sub.unsubscribe();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<StateEvent> {
    for await (const msg of this.#sub) {
      const ev = stateEvent(msg);
      if (ev !== undefined) yield ev;
    }
  }
}
