// Tests the SubjectIndex trie: exact, `*`, `>` (one or more tokens), removal and pruning, cache invalidation, queue groups.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SubjectIndex, type Indexed } from '../../src/broker/subject-index.js';

interface Item extends Indexed {
  name: string;
}

const item = (name: string, subject: string, queue?: string): Item => ({ name, subject, queue });
const names = (items: Item[]): string[] => items.map((i) => i.name).sort();

void test('exact match', () => {
  const ix = new SubjectIndex<Item>();
  ix.add(item('ab', 'a.b'));
  ix.add(item('abc', 'a.b.c'));
  assert.deepEqual(names(ix.match('a.b').all), ['ab']);
  assert.deepEqual(names(ix.match('a.b.c').all), ['abc']);
  assert.equal(ix.match('a').empty, true);
  assert.equal(ix.match('a.b.c.d').empty, true);
  assert.equal(ix.match('x.b').empty, true);
  assert.equal(ix.size, 2);
});

void test('`*` matches exactly one token', () => {
  const ix = new SubjectIndex<Item>();
  ix.add(item('a*', 'a.*'));
  ix.add(item('*b', '*.b'));
  ix.add(item('a*c', 'a.*.c'));
  assert.deepEqual(names(ix.match('a.b').all), ['*b', 'a*']);
  assert.deepEqual(names(ix.match('a.x').all), ['a*']);
  assert.deepEqual(names(ix.match('a.x.c').all), ['a*c']);
  assert.equal(ix.match('a').empty, true);
  assert.equal(ix.match('a.b.d').empty, true);
});

void test('`>` needs at least one token: a.> matches a.b and a.b.c, not a', () => {
  const ix = new SubjectIndex<Item>();
  ix.add(item('a>', 'a.>'));
  ix.add(item('all', '>'));
  assert.deepEqual(names(ix.match('a.b').all), ['a>', 'all']);
  assert.deepEqual(names(ix.match('a.b.c').all), ['a>', 'all']);
  assert.deepEqual(names(ix.match('a').all), ['all']);
  assert.deepEqual(names(ix.match('b').all), ['all']);
});

void test('one item per matching pattern; overlapping patterns all match', () => {
  const ix = new SubjectIndex<Item>();
  ix.add(item('1', 'a.b'));
  ix.add(item('2', 'a.b'));
  ix.add(item('3', 'a.*'));
  ix.add(item('4', '*.*'));
  ix.add(item('5', 'a.>'));
  assert.deepEqual(names(ix.match('a.b').all), ['1', '2', '3', '4', '5']);
});

void test('removal takes the item out and prunes empty nodes', () => {
  const ix = new SubjectIndex<Item>();
  const deep = item('deep', 'a.b.c.d');
  const rest = item('rest', 'a.b.>');
  ix.add(deep);
  ix.add(rest);
  ix.remove(deep);
  assert.equal(ix.size, 1);
  assert.equal(ix.match('a.b.c.d').all.length, 1);
  assert.deepEqual([...ix.patterns().keys()], ['a.b.>']);
  ix.remove(rest);
  assert.equal(ix.size, 0);
  assert.equal(ix.match('a.b.c.d').empty, true);
  assert.deepEqual([...ix.patterns()], []);
  // Pruned: re-adding works from an empty trie.
  ix.add(item('again', 'a.b'));
  assert.deepEqual(names(ix.match('a.b').all), ['again']);
});

void test('removing one of two items with the same pattern keeps the other', () => {
  const ix = new SubjectIndex<Item>();
  const x = item('x', 'p.q');
  const y = item('y', 'p.q');
  ix.add(x);
  ix.add(y);
  ix.remove(x);
  assert.deepEqual(names(ix.match('p.q').all), ['y']);
  assert.deepEqual([...ix.patterns()], [['p.q', 1]]);
});

void test('the match cache returns the same route until the index changes', () => {
  const ix = new SubjectIndex<Item>();
  ix.add(item('1', 'a.*'));
  const r1 = ix.match('a.b');
  assert.equal(ix.match('a.b'), r1, 'cached');
  const two = item('2', 'a.b');
  ix.add(two);
  const r2 = ix.match('a.b');
  assert.notEqual(r2, r1, 'cache invalidated by add');
  assert.deepEqual(names(r2.all), ['1', '2']);
  ix.remove(two);
  const r3 = ix.match('a.b');
  assert.notEqual(r3, r2, 'cache invalidated by remove');
  assert.deepEqual(names(r3.all), ['1']);
  const empty = ix.match('zzz');
  assert.equal(empty.empty, true);
  ix.add(item('3', 'zzz'));
  assert.deepEqual(names(ix.match('zzz').all), ['3'], 'a cached empty route is invalidated too');
});

void test('queue groups are grouped by name; plain items stay plain', () => {
  const ix = new SubjectIndex<Item>();
  ix.add(item('p1', 'job.*'));
  ix.add(item('w1', 'job.*', 'workers'));
  ix.add(item('w2', 'job.run', 'workers'));
  ix.add(item('l1', 'job.>', 'loggers'));
  ix.add(item('p2', 'job.run'));
  const r = ix.match('job.run');
  assert.deepEqual(names(r.plain), ['p1', 'p2']);
  assert.equal(r.groups.length, 2);
  assert.equal(r.cursors.length, 2);
  const byName = new Map(r.groups.map((g) => [g[0]!.queue, names(g)]));
  assert.deepEqual(byName.get('workers'), ['w1', 'w2']);
  assert.deepEqual(byName.get('loggers'), ['l1']);
  assert.equal(r.all.length, 5);
  const other = ix.match('job.stop');
  assert.deepEqual(names(other.plain), ['p1']);
  assert.deepEqual(other.groups.map((g) => names(g).join()).sort(), ['l1', 'w1']);
});

void test('removeAll removes exactly what remove() would, prunes empty nodes and clears the cache once', () => {
  const patterns = ['a', 'a.b', 'a.*', 'a.>', '>', '*.b', 'a.b.c', 'x.y.z', 'x.>', 'x.*.z', 'a.b'];
  const probes = ['a', 'a.b', 'a.c', 'a.b.c', 'x.y.z', 'x.q.z', 'x.y', 'q.b', 'zzz'];
  const all: Item[] = [];
  for (let owner = 0; owner < 3; owner++) {
    for (const p of patterns) all.push(item(`${owner}:${p}`, p, owner === 1 ? 'g' : undefined));
  }
  const bulk = new SubjectIndex<Item>();
  const single = new SubjectIndex<Item>();
  for (const it of all) {
    bulk.add(it);
    single.add(it);
  }
  for (const probe of probes) bulk.match(probe); // fill the cache
  const leaving = all.filter((it) => it.name.startsWith('1:'));
  bulk.removeAll(leaving);
  for (const it of leaving) single.remove(it);
  assert.equal(bulk.size, single.size);
  assert.equal(bulk.size, 2 * patterns.length);
  for (const probe of probes) {
    assert.deepEqual(names(bulk.match(probe).all), names(single.match(probe).all), probe);
  }
  assert.deepEqual([...bulk.patterns()].sort(), [...single.patterns()].sort());
  // Everything gone: the trie is empty again (nothing left to match, no stale nodes).
  bulk.removeAll(all);
  assert.equal(bulk.size, 0);
  assert.deepEqual([...bulk.patterns()], []);
  for (const probe of probes) assert.equal(bulk.match(probe).empty, true);
  bulk.removeAll(all); // removing again is a no-op
  assert.equal(bulk.size, 0);
});

void test('removeAll of 10,000 entries on one subject among 50,000 leaves the other 40,000', () => {
  const ix = new SubjectIndex<Item>();
  const owners: Item[][] = [];
  for (let o = 0; o < 5; o++) {
    const mine: Item[] = [];
    for (let i = 0; i < 10_000; i++) mine.push(item(`${o}:${i}`, 'same.subject'));
    for (const it of mine) ix.add(it);
    owners.push(mine);
  }
  ix.removeAll(owners[2]!); // timing: npm run bench:micro -- --only removal
  assert.equal(ix.size, 40_000);
  assert.equal(ix.match('same.subject').all.length, 40_000);
  assert.ok(!ix.match('same.subject').all.some((it) => it.name.startsWith('2:')));
});
