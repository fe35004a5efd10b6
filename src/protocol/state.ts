// Shared state (retained values) on the wire: key rules, the `$STATE.` subject space watchers
// subscribe to, the headers of a change message, and the names of the `state.*` control calls.
// docs/PROTOCOL.md section 10.9. Imports protocol/ only.

import { MAX_SUBJECT, subjectProblem, tokensMatch } from './subject.js';

/** Changes of key K are delivered on the subject `$STATE.K`; only the daemon publishes there. */
export const STATE_PREFIX = '$STATE.';

/** Longest key, in bytes: `$STATE.` + key must be a subject (255 bytes at most). */
export const MAX_STATE_KEY = MAX_SUBJECT - STATE_PREFIX.length;

/** The control calls of the state store (CALL `op`). */
export const StateOp = {
  SET: 'state.set',
  GET: 'state.get',
  DELETE: 'state.delete',
  KEYS: 'state.keys',
} as const;

/** Headers of a state message (MSG on `$STATE.K`): what happened, and the revisions. */
export const StateHeader = {
  /** `set` (a new value), `del` (the key was deleted) or `cur` (a watch's current value). */
  OP: 'op',
  /** The key's revision after this change (decimal). */
  REV: 'rev',
  /** The key's revision before this change, `0` when it did not exist (decimal); not on `cur`. */
  PREV: 'prev',
} as const;

/** Values of the `op` header. */
export const StateEventOp = { SET: 'set', DEL: 'del', CURRENT: 'cur' } as const;
export type StateEventOpValue = (typeof StateEventOp)[keyof typeof StateEventOp];

/** Most keys one `state.keys` answer lists, and the default. */
export const STATE_KEYS_PAGE = 1000;
export const STATE_KEYS_PAGE_MAX = 1000;

/**
 * Why `key` is not a valid state key (or, with `wildcards`, a key pattern), or null. Keys follow
 * the subject rules (dotted printable ASCII tokens), are at most MAX_STATE_KEY bytes, and may
 * not start with `$` (reserved for the daemon).
 */
export function stateKeyProblem(key: string, wildcards = false): string | null {
  if (typeof key !== 'string') return 'a state key must be a text string';
  if (key.length > MAX_STATE_KEY)
    return `state key is longer than ${MAX_STATE_KEY} bytes (${STATE_PREFIX}KEY must fit in ${MAX_SUBJECT})`;
  if (key.charCodeAt(0) === 0x24) return `state key ${JSON.stringify(key)} starts with "$"`;
  const problem = subjectProblem(key, wildcards);
  return problem === null ? null : problem.replace(/^subject/, wildcards ? 'key pattern' : 'key');
}

/** True when the literal subject `subject` (`a.b.c`) matches the pattern `pattern` (`a.*`, `a.>`). */
export function subjectMatches(pattern: string, subject: string): boolean {
  return tokensMatch(pattern.split('.'), subject.split('.'));
}
