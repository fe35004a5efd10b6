// Subject rules: dot-separated tokens of printable ASCII; `*` matches one token, `>` the rest.
// Imports nothing.

/**
 * Whether the pattern `p` (tokens; `*` one token, `>` one or more, last only) matches the literal
 * subject `s` (tokens).
 */
export function tokensMatch(p: readonly string[], s: readonly string[]): boolean {
  for (let i = 0; i < p.length; i++) {
    const t = p[i]!;
    if (t === '>') return s.length > i;
    if (i >= s.length) return false;
    if (t !== '*' && t !== s[i]) return false;
  }
  return p.length === s.length;
}

/** Longest subject, in bytes (it is length-prefixed by one byte on the wire). */
export const MAX_SUBJECT = 255;

/**
 * Why `subject` is not valid, or null when it is. Publish subjects may not hold wildcards;
 * subscription patterns may (`*` as a whole token, `>` as the whole last token).
 */
export function subjectProblem(subject: string, allowWildcards: boolean): string | null {
  const n = subject.length;
  if (n === 0) return 'subject is empty';
  if (n > MAX_SUBJECT) return `subject is longer than ${MAX_SUBJECT} bytes`;
  let tokenStart = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? subject.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      const len = i - tokenStart;
      if (len === 0) return `subject "${subject}" has an empty token`;
      if (len === 1) {
        const t = subject.charCodeAt(tokenStart);
        if (t === 0x2a || t === 0x3e) {
          if (!allowWildcards)
            return `subject "${subject}" has a wildcard; publish to a concrete subject`;
          if (t === 0x3e && i !== n) return `subject "${subject}": ">" must be the last token`;
        }
      }
      tokenStart = i + 1;
      continue;
    }
    if (c === 0x20) return `subject ${JSON.stringify(subject)} contains a space`;
    if (c < 0x20 || c >= 0x7f) {
      return `subject ${JSON.stringify(subject)} has a character outside printable ASCII (U+${c.toString(16).toUpperCase().padStart(4, '0')})`;
    }
    if ((c === 0x2a || c === 0x3e) && !allowWildcards) {
      return `subject "${subject}" has a wildcard character; publish to a concrete subject`;
    }
    if (c === 0x2a || c === 0x3e) {
      // A wildcard character must be a whole token.
      const prev = i > 0 ? subject.charCodeAt(i - 1) : 0x2e;
      const next = i + 1 < n ? subject.charCodeAt(i + 1) : 0x2e;
      if (prev !== 0x2e || next !== 0x2e) {
        return `subject "${subject}": wildcards must be whole tokens`;
      }
    }
  }
  return null;
}

/** True for `$SYS` and `$SYS.…`: subjects only the daemon publishes on. */
export function isSysSubject(subject: string): boolean {
  return subject.startsWith('$SYS') && (subject.length === 4 || subject.charCodeAt(4) === 0x2e);
}

/**
 * True for the subjects only the daemon publishes on: `$SYS` and `$SYS.…` (daemon events) and
 * `$STATE` and `$STATE.…` (changes of shared state).
 */
export function isDaemonSubject(subject: string): boolean {
  return (
    isSysSubject(subject) ||
    (subject.startsWith('$STATE') && (subject.length === 6 || subject.charCodeAt(6) === 0x2e))
  );
}
