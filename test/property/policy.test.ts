// The access policy's pattern logic against brute force: covers(R, P) means every subject P
// matches, R matches too; intersects(R, P) is false only when no subject matches both; and a
// session's decisions follow "the last matching rule wins".

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  SessionPolicy,
  connectAllowed,
  covers,
  intersects,
  matches,
  type PolicyRule,
} from '../../src/broker/policy.js';

const token = fc.constantFrom('a', 'b', '*');
const pattern = fc
  .tuple(fc.array(token, { minLength: 1, maxLength: 3 }), fc.boolean())
  .map(([t, tail]) => (tail ? [...t, '>'] : t));
/** Every literal subject of 1..5 tokens over {a, b, c}: enough to witness any difference. */
const subjects: string[][] = [];
for (let n = 1; n <= 5; n++) {
  const walk = (prefix: string[]): void => {
    if (prefix.length === n) subjects.push(prefix);
    else for (const t of ['a', 'b', 'c']) walk([...prefix, t]);
  };
  walk([]);
}

void test('covers and intersects agree with brute force over every subject', () => {
  fc.assert(
    fc.property(pattern, pattern, (r, p) => {
      const mp = subjects.filter((s) => matches(p, s));
      const both = mp.filter((s) => matches(r, s));
      if (covers(r, p))
        assert.equal(both.length, mp.length, `${r.join('.')} covers ${p.join('.')}`);
      else
        assert.ok(
          both.length < mp.length || mp.length === 0,
          `${r.join('.')} !covers ${p.join('.')}`,
        );
      assert.equal(intersects(r, p), both.length > 0, `intersects ${r.join('.')} ${p.join('.')}`);
    }),
    { seed: 42, numRuns: 1000 },
  );
});

const rule = (
  effect: 'allow' | 'deny',
  verbs: PolicyRule['verbs'],
  subjects: string[],
  uids: number[] = [7],
): PolicyRule => ({
  anyone: false,
  uids,
  gids: [],
  memberUids: [],
  effect,
  verbs,
  subjects,
  label: `rule ${effect} ${subjects.join(',')}`,
});

void test('the last matching rule wins; wildcard subscriptions are refused when any part is denied', () => {
  const policy = {
    rules: [
      rule('deny', ['publish', 'subscribe'], ['secret.>']),
      rule('allow', ['publish', 'subscribe'], ['secret.open']),
    ],
    defaultConnect: 'owner' as const,
    ownerUid: 1000,
  };
  const p = new SessionPolicy(policy, { uid: 7, gid: 7 });
  assert.equal(p.open, false);
  assert.notEqual(p.denies('publish', 'secret.x'), null);
  assert.equal(p.denies('publish', 'secret.open'), null);
  assert.equal(p.denies('publish', 'public.x'), null);
  assert.notEqual(p.denies('subscribe', '>'), null);
  assert.notEqual(p.denies('subscribe', 'secret.*'), null);
  assert.equal(p.denies('subscribe', 'secret.open'), null);
  assert.equal(p.denies('subscribe', 'public.>'), null);
  // Another uid: no rule applies, everything allowed with one boolean.
  assert.equal(new SessionPolicy(policy, { uid: 8, gid: 8 }).open, true);
  assert.equal(connectAllowed(policy, { uid: 8, gid: 8 }).ok, false);
  assert.equal(connectAllowed(policy, { uid: 1000, gid: 1000 }).ok, true);
  const withConnect = { ...policy, rules: [...policy.rules, rule('allow', ['connect'], [], [8])] };
  assert.equal(connectAllowed(withConnect, { uid: 8, gid: 8 }).ok, true);
});
