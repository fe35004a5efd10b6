// The access policy: ordered allow/deny rules by uid or gid, per verb and subject pattern; the
// last rule that matches decides (as in dbus-daemon). The daemon resolves user and group names
// to ids and hands the broker plain rules. Each session gets the rules that apply to its
// kernel-verified uid and groups once, at connect; a session no rule applies to is decided by
// the defaults alone, with one boolean on the hot path. docs/OPERATIONS.md "Access policy".
// Imports only protocol/.

import { tokensMatch } from '../protocol/subject.js';

export const VERBS = [
  'connect',
  'publish',
  'subscribe',
  'request',
  'serve',
  'send',
  'broadcast',
  'own',
  'monitor',
] as const;
export type Verb = (typeof VERBS)[number];

/** One rule, as the daemon resolved it. */
export interface PolicyRule {
  /** Who: anyone, or these uids, or members of these gids (primary or supplementary). */
  anyone: boolean;
  uids: readonly number[];
  gids: readonly number[];
  /** Supplementary members of `gids`, by uid (from /etc/group, resolved by the daemon). */
  memberUids: readonly number[];
  effect: 'allow' | 'deny';
  verbs: readonly Verb[];
  /** Subject patterns (`*`, `>`); empty: every subject. */
  subjects: readonly string[];
  /** Where the rule came from, for messages ("rule 3"). */
  label: string;
}

export interface Policy {
  rules: readonly PolicyRule[];
  /** Who may connect when no rule says: only the daemon's own uid ('owner') or 'anyone'. */
  defaultConnect: 'owner' | 'anyone';
  /** The daemon's own uid (always allowed to connect unless a rule denies it). */
  ownerUid: number;
}

/** No rules; connections from anyone who can open the socket. */
export const OPEN_POLICY: Policy = { rules: [], defaultConnect: 'anyone', ownerUid: -1 };

/** Who a session is, for the policy. */
export interface Principal {
  uid: number | undefined;
  gid: number | undefined;
}

function applies(rule: PolicyRule, who: Principal): boolean {
  if (rule.anyone) return true;
  if (who.uid === undefined) return false;
  if (rule.uids.includes(who.uid) || rule.memberUids.includes(who.uid)) return true;
  return who.gid !== undefined && rule.gids.includes(who.gid);
}

const SUBJECT_CACHE_MAX = 1024;

/**
 * The policy as it applies to one session: the rules for its principal, and a bounded cache of
 * decisions by verb and subject. `open` is true when no rule applies: everything is allowed.
 */
export class SessionPolicy {
  readonly open: boolean;
  readonly #rules: readonly PolicyRule[];
  readonly #cache = new Map<string, PolicyRule | null>();
  readonly #ownerish: boolean;

  constructor(policy: Policy, who: Principal) {
    this.#rules = policy.rules.filter((r) => applies(r, who) && !onlyConnect(r));
    this.open = this.#rules.length === 0;
    this.#ownerish = who.uid === undefined || who.uid === policy.ownerUid || who.uid === 0;
  }

  /**
   * Monitoring sees other clients' requests, replies and direct messages: without a rule that
   * allows it, only the daemon's own uid and root may monitor. Returns the refusal or null.
   */
  deniesMonitor(subject: string): string | null {
    const rule = this.decide('monitor', subject);
    if (rule === null)
      return this.#ownerish
        ? null
        : "only the daemon's own uid and root may monitor unless a rule allows it";
    return rule.effect === 'deny' ? rule.label : null;
  }

  /**
   * The rule that refuses `verb` on `subject` (a literal subject, or a pattern for subscribe and
   * serve: refused when a deny rule could match any subject the pattern matches and no later
   * allow covers the whole pattern), or null when it is allowed.
   */
  denies(verb: Verb, subject: string): PolicyRule | null {
    const rule = this.decide(verb, subject);
    return rule !== null && rule.effect === 'deny' ? rule : null;
  }

  /** The rule that decides `verb` on `subject` (the last that matches), or null when none does. */
  decide(verb: Verb, subject: string): PolicyRule | null {
    if (this.open) return null;
    const key = `${verb} ${subject}`;
    const hit = this.#cache.get(key);
    if (hit !== undefined) return hit;
    const pattern = verb === 'subscribe' || verb === 'serve' || verb === 'monitor';
    let decider: PolicyRule | null = null;
    for (const r of this.#rules) {
      if (!r.verbs.includes(verb)) continue;
      if (r.subjects.length === 0) {
        decider = r;
        continue;
      }
      const s = tokens(subject);
      for (const p of r.subjects) {
        const rp = tokens(p);
        if (pattern ? covers(rp, s) : matches(rp, s)) {
          decider = r;
          break;
        }
        // Part of what the pattern matches is denied: the whole subscription is.
        if (pattern && r.effect === 'deny' && intersects(rp, s)) {
          decider = r;
          break;
        }
      }
    }
    if (this.#cache.size >= SUBJECT_CACHE_MAX) this.#cache.clear();
    this.#cache.set(key, decider);
    return decider;
  }
}

function onlyConnect(r: PolicyRule): boolean {
  return r.verbs.length === 1 && r.verbs[0] === 'connect';
}

/** Whether `who` may connect: the last matching connect rule, else the default. */
export function connectAllowed(policy: Policy, who: Principal): { ok: boolean; why: string } {
  let decision: PolicyRule | undefined;
  for (const r of policy.rules) {
    if (r.verbs.includes('connect') && applies(r, who)) decision = r;
  }
  if (decision !== undefined) {
    return { ok: decision.effect === 'allow', why: `${decision.label} ${decision.effect}s it` };
  }
  // Without kernel credentials (no native helper) nobody can be told apart: the socket's file
  // mode is the only guard, as before there was a policy.
  if (policy.defaultConnect === 'anyone' || who.uid === undefined)
    return { ok: true, why: 'default' };
  const ok = who.uid !== undefined && who.uid === policy.ownerUid;
  return {
    ok,
    why: ok ? 'default' : "by default only the daemon's own uid may connect to a per-user bus",
  };
}

/** The error message of a refusal. */
export function denial(verb: Verb, subject: string, rule: PolicyRule): string {
  return `${verb} ${subject}: denied by the access policy (${rule.label})`;
}

// ---------------------------------------------------------------------------------------------
// Patterns as token lists: `*` one token, `>` one or more (last only).

function tokens(s: string): string[] {
  return s.split('.');
}

/** Whether the pattern `p` matches the literal subject `s`. */
export const matches = tokensMatch;

/** Whether every subject the pattern `q` matches is matched by the pattern `p`. */
export function covers(p: readonly string[], q: readonly string[]): boolean {
  for (let i = 0; i < p.length; i++) {
    const t = p[i]!;
    if (t === '>') return q.length > i;
    if (i >= q.length) return false;
    const u = q[i]!;
    if (u === '>') return false; // q matches longer subjects than p can
    if (t !== '*' && (u === '*' || t !== u)) return false;
  }
  return p.length === q.length;
}

/** Whether some subject is matched by both patterns. */
export function intersects(p: readonly string[], q: readonly string[]): boolean {
  const n = Math.max(p.length, q.length);
  for (let i = 0; i < n; i++) {
    const a = p[i];
    const b = q[i];
    if (a === '>' || b === '>') return a !== undefined && b !== undefined;
    if (a === undefined || b === undefined) return false;
    if (a !== '*' && b !== '*' && a !== b) return false;
  }
  return true;
}
