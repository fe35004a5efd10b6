// The shared-state store: retained values by key with a store-wide revision counter, compare-
// and-set, limits (keys, value bytes, total bytes), key listing, and the persisted subset. No
// delivery here (on-state.ts) and no files (the daemon). Imports only protocol/.

import type { Sender } from '../protocol/delivery-frames.js';
import { BusError, ErrorCode } from '../protocol/errors.js';
import { STATE_PREFIX, stateKeyProblem, subjectMatches } from '../protocol/state.js';

/** Bounds of a store; each past-limit write is refused with BUS_ERR_LIMIT. */
export interface StateLimits {
  /** Keys held at once. */
  maxKeys: number;
  /** Bytes of one value. */
  maxValueBytes: number;
  /** Bytes of all keys and values together (UTF-8 key bytes + value bytes). */
  maxBytes: number;
}

/** One retained value. */
export interface StateEntry {
  readonly key: string;
  readonly value: Uint8Array;
  /** The application type (u32) given with the value, like a message's type. */
  readonly type: number | undefined;
  /** The store revision of the change that wrote this value. */
  readonly revision: number;
  /** Kept across daemon restarts (written to the state file). */
  readonly persist: boolean;
  /** Who set it (the daemon itself for values loaded from the state file). */
  readonly setter: Sender;
}

/** A change: a key's new entry (undefined: deleted), its new revision and the one it replaced. */
export interface StateChange {
  readonly key: string;
  readonly entry: StateEntry | undefined;
  readonly revision: number;
  /** The key's revision before the change; 0 when it did not exist. */
  readonly prev: number;
  /** True when the change touched a persisted value (the state file must be written again). */
  readonly persisted: boolean;
}

/** What `state.set` asks for beyond the key and value. */
export interface SetOptions {
  type?: number | undefined;
  /** Compare-and-set: the key's current revision must be this (0: the key must not exist). */
  ifRevision?: number | undefined;
  persist?: boolean | undefined;
}

/** The persisted subset of a store: what the daemon writes to its state file. */
export interface PersistedState {
  /** The store revision when it was taken: revisions continue from here after a restart. */
  revision: number;
  entries: { key: string; value: Uint8Array; type?: number; revision: number }[];
}

const ENCODER = new TextEncoder();

/** Bytes a key counts for (its UTF-8 length; keys are ASCII, so its length). */
function keyBytes(key: string): number {
  return key.length;
}

/** Retained values by key. Revisions come from one counter, so they only grow, across keys. */
export class StateStore {
  readonly limits: StateLimits;
  #entries = new Map<string, StateEntry>();
  #revision = 0;
  #bytes = 0;

  constructor(limits: StateLimits) {
    this.limits = limits;
  }

  /** Keys held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Bytes held: every key and value. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The revision of the last change (0: none yet). */
  get revision(): number {
    return this.#revision;
  }

  /** The entry of `key`, or undefined. */
  get(key: string): StateEntry | undefined {
    return this.#entries.get(key);
  }

  /**
   * Sets `key` to `value`. Throws BusError: BUS_ERR_BAD_SUBJECT (bad key), BUS_ERR_CONFLICT (the
   * key's revision is not `ifRevision`), BUS_ERR_LIMIT (a limit would be passed).
   */
  set(key: string, value: Uint8Array, options: SetOptions, setter: Sender): StateChange {
    checkKey(key, 'state.set');
    const old = this.#entries.get(key);
    checkRevision('state.set', key, old, options.ifRevision);
    const { maxKeys, maxValueBytes, maxBytes } = this.limits;
    if (value.length > maxValueBytes)
      throw new BusError(
        ErrorCode.LIMIT,
        `state.set ${key}: a value of ${value.length} bytes is over the limit of ${maxValueBytes} bytes (maxStateValueBytes)`,
      );
    if (old === undefined && this.#entries.size >= maxKeys)
      throw new BusError(
        ErrorCode.LIMIT,
        `state.set ${key}: the store holds ${this.#entries.size} keys, its limit (maxStateKeys)`,
      );
    const bytes =
      this.#bytes - (old === undefined ? 0 : keyBytes(key) + old.value.length) + keyBytes(key);
    if (bytes + value.length > maxBytes)
      throw new BusError(
        ErrorCode.LIMIT,
        `state.set ${key}: the store would hold ${bytes + value.length} bytes, over its limit of ${maxBytes} (maxStateBytes)`,
      );
    const revision = ++this.#revision;
    const entry: StateEntry = {
      key,
      value,
      type: options.type,
      revision,
      persist: options.persist === true,
      setter,
    };
    this.#entries.set(key, entry);
    this.#bytes = bytes + value.length;
    return {
      key,
      entry,
      revision,
      prev: old?.revision ?? 0,
      persisted: entry.persist || old?.persist === true,
    };
  }

  /**
   * Deletes `key`; the deletion takes a revision of its own. Throws BusError BUS_ERR_NOT_FOUND
   * (no such key), BUS_ERR_CONFLICT (`ifRevision` is not its revision), BUS_ERR_BAD_SUBJECT.
   */
  delete(key: string, ifRevision?: number): StateChange {
    checkKey(key, 'state.delete');
    const old = this.#entries.get(key);
    if (old === undefined) throw notFound('state.delete', key);
    checkRevision('state.delete', key, old, ifRevision);
    this.#entries.delete(key);
    this.#bytes -= keyBytes(key) + old.value.length;
    const revision = ++this.#revision;
    return { key, entry: undefined, revision, prev: old.revision, persisted: old.persist };
  }

  /** The entries whose key matches the key pattern `pattern` (all with `>`), in no order. */
  *matching(pattern: string): Iterable<StateEntry> {
    if (!pattern.includes('*') && !pattern.includes('>')) {
      const e = this.#entries.get(pattern);
      if (e !== undefined) yield e;
      return;
    }
    for (const e of this.#entries.values()) if (subjectMatches(pattern, e.key)) yield e;
  }

  /**
   * The entries a subscription on the subject pattern `subjectPattern` would see changes of:
   * those whose `$STATE.K` subject it matches.
   */
  *forSubscription(subjectPattern: string): Iterable<StateEntry> {
    if (subjectPattern === '>') {
      yield* this.#entries.values();
      return;
    }
    if (subjectPattern.startsWith(STATE_PREFIX)) {
      yield* this.matching(subjectPattern.slice(STATE_PREFIX.length));
      return;
    }
    // `*.vol`, `*.>` and the like: only patterns whose first token can be `$STATE`.
    if (!subjectPattern.startsWith('*.')) return;
    for (const e of this.#entries.values())
      if (subjectMatches(subjectPattern, STATE_PREFIX + e.key)) yield e;
  }

  /**
   * One page of keys matching `pattern`, sorted by key (byte order), after `after`, at most
   * `limit`; `next` is the `after` of the next page, or null.
   */
  page(
    pattern: string,
    after: string,
    limit: number,
  ): { entries: StateEntry[]; total: number; next: string | null } {
    const all = [...this.matching(pattern)].sort((a, b) => (a.key < b.key ? -1 : 1));
    const first = after === '' ? 0 : all.findIndex((e) => e.key > after);
    const entries = first < 0 ? [] : all.slice(first, first + limit);
    const more = first >= 0 && first + limit < all.length;
    return { entries, total: all.length, next: more ? entries[entries.length - 1]!.key : null };
  }

  /** The persisted entries and the revision counter (for the daemon's state file). */
  persisted(): PersistedState {
    const entries: PersistedState['entries'] = [];
    for (const e of this.#entries.values()) {
      if (!e.persist) continue;
      entries.push({
        key: e.key,
        value: e.value,
        revision: e.revision,
        ...(e.type === undefined ? {} : { type: e.type }),
      });
    }
    return { revision: this.#revision, entries };
  }

  /**
   * Restores persisted entries into an empty store (at daemon start), keeping their revisions;
   * the counter continues after the largest. Entries that break the key rules or the limits are
   * skipped and returned with the reason.
   */
  load(state: PersistedState, setter: Sender): { key: string; why: string }[] {
    const skipped: { key: string; why: string }[] = [];
    let top = state.revision;
    for (const e of state.entries) {
      try {
        this.#revision = e.revision - 1;
        this.set(e.key, e.value, { type: e.type, persist: true }, setter);
        top = Math.max(top, e.revision);
      } catch (err) {
        skipped.push({ key: e.key, why: err instanceof Error ? err.message : String(err) });
      }
    }
    this.#revision = top;
    return skipped;
  }
}

function checkKey(key: string, op: string): void {
  const problem = stateKeyProblem(key);
  if (problem !== null) throw new BusError(ErrorCode.BAD_SUBJECT, `${op}: ${problem}`);
}

function notFound(op: string, key: string): BusError {
  return new BusError(ErrorCode.NOT_FOUND, `${op} ${key}: no such key`);
}

function checkRevision(
  op: string,
  key: string,
  old: StateEntry | undefined,
  ifRevision: number | undefined,
): void {
  if (ifRevision === undefined) return;
  const current = old?.revision ?? 0;
  if (current === ifRevision) return;
  const now = old === undefined ? 'the key does not exist' : `its revision is ${current}`;
  const wanted = ifRevision === 0 ? 'expected no key (ifRevision 0)' : `expected ${ifRevision}`;
  throw new BusError(ErrorCode.CONFLICT, `${op} ${key}: revision conflict: ${now}, ${wanted}`, {
    detail: { key, revision: current },
  });
}

/** `state.get` of a missing key. */
export function stateNotFound(key: string): BusError {
  return notFound('state.get', key);
}

/** The bytes of a `state.set` value given as CBOR text (stored as its UTF-8 bytes). */
export function textValue(text: string): Uint8Array {
  return ENCODER.encode(text);
}
