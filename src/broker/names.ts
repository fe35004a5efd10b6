// Service names (D-Bus well-known names): one owner at a time, a queue of claimants that take
// over in order, release on disconnect, `$SYS.owner.<name>` on every change, and the routing of
// requests sent to `@NAME` (or `@NAME.rest`) to the owner's `serve` registrations only.
// docs/PROTOCOL.md section 10.10. Imports only protocol/ and broker/.

import { ErrorCode } from '../protocol/errors.js';
import type { Session } from './session.js';

/** Longest name, bytes. */
export const MAX_NAME = 128;

/** Why `name` is not a valid service name, or null. */
export function nameProblem(name: string): string | null {
  if (name.length === 0) return 'a name is empty';
  if (name.length > MAX_NAME) return `a name is longer than ${MAX_NAME} bytes`;
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(name)) {
    return `name ${JSON.stringify(name)}: letters, digits, _ and - in dot-separated tokens`;
  }
  return null;
}

interface Claim {
  readonly session: Session;
  /** The owner lets a `replace` claim take the name from it. */
  readonly allowReplacement: boolean;
}

interface Entry {
  owner: Claim;
  /** Claimants waiting, first in line first. */
  readonly queue: Claim[];
}

/** What a claim got. */
export interface ClaimResult {
  /** 'owner': the name is the claimant's; 'queued': it is in line; 'exists': refused. */
  result: 'owner' | 'queued' | 'exists' | 'already';
  /** The owner's client id after the claim. */
  owner: number;
}

/** An ownership change, for `$SYS.owner.<name>`. */
export interface OwnerChange {
  name: string;
  old: Session | null;
  new: Session | null;
}

export class NameRegistry {
  readonly #names = new Map<string, Entry>();
  /** The names each session owns or waits for. */
  readonly #bySession = new Map<Session, Set<string>>();
  readonly #maxPerSession: number;
  readonly #maxTotal: number;

  constructor(maxPerSession: number, maxTotal: number) {
    this.#maxPerSession = maxPerSession;
    this.#maxTotal = maxTotal;
  }

  get size(): number {
    return this.#names.size;
  }

  /** The owner of `name`, if any. */
  owner(name: string): Session | undefined {
    return this.#names.get(name)?.owner.session;
  }

  /**
   * The owner a request subject is meant for: the subject is `@NAME` or `@NAME.rest`, and NAME
   * is the longest owned name it starts with (names may hold dots). undefined: nobody owns one.
   */
  ownerForSubject(subject: string): Session | undefined {
    let end = subject.length;
    for (;;) {
      const e = this.#names.get(subject.slice(1, end));
      if (e !== undefined) return e.owner.session;
      end = subject.lastIndexOf('.', end - 1);
      if (end <= 1) return undefined;
    }
  }

  /**
   * `s` claims `name`. Free: `s` owns it. Owned and `replace` with an owner that allows it:
   * `s` takes it over (the old owner goes to the head of the queue when it asked to queue).
   * Otherwise `queue`: `s` waits in line; else 'exists'. Throws BUS_ERR_LIMIT past the limits.
   */
  claim(
    s: Session,
    name: string,
    opts: { replace: boolean; queue: boolean; allowReplacement: boolean },
    changed: (c: OwnerChange) => void,
  ): ClaimResult {
    const e = this.#names.get(name);
    const claim: Claim = { session: s, allowReplacement: opts.allowReplacement };
    if (e === undefined) {
      this.#checkLimits(s);
      this.#names.set(name, { owner: claim, queue: [] });
      this.#track(s, name);
      changed({ name, old: null, new: s });
      return { result: 'owner', owner: s.id };
    }
    if (e.owner.session === s) {
      e.owner = claim; // a new allowReplacement
      return { result: 'already', owner: s.id };
    }
    const inLine = e.queue.findIndex((c) => c.session === s);
    if (opts.replace && e.owner.allowReplacement) {
      if (inLine >= 0) e.queue.splice(inLine, 1);
      else this.#checkLimits(s);
      const old = e.owner;
      e.owner = claim;
      this.#track(s, name);
      // The old owner keeps its place at the head of the line (it asked for a name it lost).
      e.queue.unshift(old);
      changed({ name, old: old.session, new: s });
      return { result: 'owner', owner: s.id };
    }
    if (!opts.queue) return { result: 'exists', owner: e.owner.session.id };
    if (inLine < 0) {
      this.#checkLimits(s);
      e.queue.push(claim);
      this.#track(s, name);
    }
    return { result: 'queued', owner: e.owner.session.id };
  }

  /** `s` gives up `name` (owned or queued); false when it held neither. */
  release(s: Session, name: string, changed: (c: OwnerChange) => void): boolean {
    const e = this.#names.get(name);
    if (e === undefined) return false;
    if (e.owner.session === s) {
      this.#untrack(s, name);
      this.#promote(name, e, changed);
      return true;
    }
    const i = e.queue.findIndex((c) => c.session === s);
    if (i < 0) return false;
    e.queue.splice(i, 1);
    this.#untrack(s, name);
    return true;
  }

  /** `s` is gone: every name it owned passes to the next in line; its places in line go. */
  dropSession(s: Session, changed: (c: OwnerChange) => void): void {
    const names = this.#bySession.get(s);
    if (names === undefined) return;
    this.#bySession.delete(s);
    for (const name of names) {
      const e = this.#names.get(name)!;
      if (e.owner.session === s) this.#promote(name, e, changed);
      else
        e.queue.splice(
          e.queue.findIndex((c) => c.session === s),
          1,
        );
    }
  }

  /** Every name, its owner and who waits, sorted by name. */
  list(): { name: string; owner: Session; queue: Session[] }[] {
    return [...this.#names]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, e]) => ({ name, owner: e.owner.session, queue: e.queue.map((c) => c.session) }));
  }

  /** How many names `s` owns or waits for. */
  heldBy(s: Session): number {
    return this.#bySession.get(s)?.size ?? 0;
  }

  #promote(name: string, e: Entry, changed: (c: OwnerChange) => void): void {
    const old = e.owner.session;
    const next = e.queue.shift();
    if (next === undefined) {
      this.#names.delete(name);
      changed({ name, old, new: null });
      return;
    }
    e.owner = next;
    changed({ name, old, new: next.session });
  }

  #checkLimits(s: Session): void {
    if (this.heldBy(s) >= this.#maxPerSession) {
      throw limit(`more than ${this.#maxPerSession} names owned or queued for by one client`);
    }
    if (this.#names.size >= this.#maxTotal) {
      throw limit(`more than ${this.#maxTotal} names on the bus`);
    }
  }

  #track(s: Session, name: string): void {
    let set = this.#bySession.get(s);
    if (set === undefined) this.#bySession.set(s, (set = new Set()));
    set.add(name);
  }

  #untrack(s: Session, name: string): void {
    const set = this.#bySession.get(s);
    set?.delete(name);
    if (set?.size === 0) this.#bySession.delete(s);
  }
}

class NameLimitError extends Error {
  readonly code = ErrorCode.LIMIT;
}

function limit(message: string): NameLimitError {
  return new NameLimitError(message);
}

export { NameLimitError };
