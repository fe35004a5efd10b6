// Subject-index micro-benchmarks: routing a hot subject (a cache hit), routing subjects the
// cache has not seen (a trie walk over 1,000 patterns with wildcards), adding/removing, and
// removing a closing client's 10,000 subscriptions (one by one vs removeAll).

import { SubjectIndex, type Indexed } from '../../src/broker/subject-index.js';
import type { Micro } from './harness.js';

function entry(subject: string, queue?: string): Indexed {
  return { subject, queue };
}

/** 1,000 patterns: literal, `*` and `>` subscriptions over 100 services, and 10 queue groups. */
function populated(): SubjectIndex<Indexed> {
  const index = new SubjectIndex<Indexed>();
  for (let i = 0; i < 100; i++) {
    for (let j = 0; j < 7; j++) index.add(entry(`svc${i}.ev${j}`));
    index.add(entry(`svc${i}.*`));
    index.add(entry(`svc${i}.>`));
    index.add(entry(`svc${i}.ev0`, `group${i % 10}`));
  }
  return index;
}

export const subjectMicros: Micro[] = [
  {
    name: 'subject index, hot subject',
    op: 'match a subject seen before (cache hit)',
    ops: 2_000_000,
    run(ops) {
      const index = populated();
      let n = 0;
      for (let i = 0; i < ops; i++) n += index.match('svc42.ev3').all.length;
      return n;
    },
  },
  {
    name: 'subject index, cold subjects',
    op: 'match a subject not in the cache (trie walk, 1,000 patterns)',
    ops: 200_000,
    run(ops) {
      const index = populated();
      // More distinct subjects than the cache holds, so every match walks the trie.
      const subjects = Array.from({ length: 40_000 }, (_, i) => `svc${i % 100}.x${i}`);
      let n = 0;
      for (let i = 0; i < ops; i++) n += index.match(subjects[i % subjects.length]!).all.length;
      return n;
    },
  },
  {
    name: 'subject index, add + remove',
    op: 'add then remove one wildcard subscription (cache invalidation included)',
    ops: 200_000,
    run(ops) {
      const index = populated();
      index.match('svc1.ev1');
      for (let i = 0; i < ops; i++) {
        const e = entry(`svc${i % 100}.*`);
        index.add(e);
        index.remove(e);
      }
      return index.size;
    },
  },
  ...bulkRemoval('distinct subjects', (c, i) => `c${c}.s${i}`),
  ...bulkRemoval('shared subjects', (_c, i) => `s${i}`),
  ...bulkRemoval('one subject', () => 'same.subject'),
];

/**
 * 10 clients x 10,000 subscriptions, then the clients leave one after the other; one op = one
 * subscription removed (the adds of the setup are in the time, the same for both variants).
 * `subject(client, i)` chooses the pattern: distinct per client, shared by all clients, or one
 * subject for everything (the list a removal splices is then 100,000 long).
 */
function bulkRemoval(what: string, subject: (client: number, i: number) => string): Micro[] {
  const CLIENTS = 10;
  const PER = 10_000;
  const setup = (): { index: SubjectIndex<Indexed>; clients: Indexed[][] } => {
    const index = new SubjectIndex<Indexed>();
    const clients: Indexed[][] = [];
    for (let c = 0; c < CLIENTS; c++) {
      const mine: Indexed[] = [];
      for (let i = 0; i < PER; i++) mine.push(entry(subject(c, i)));
      for (const e of mine) index.add(e);
      clients.push(mine);
    }
    index.match(subject(0, 0));
    return { index, clients };
  };
  const variants: Micro[] = [
    {
      name: `subject index, bulk removal, ${what}`,
      op: `remove a leaving client's subscription with removeAll (10 x 10,000, ${what})`,
      ops: CLIENTS * PER,
      run() {
        const { index, clients } = setup();
        for (const mine of clients) index.removeAll(mine);
        return index.size;
      },
    },
  ];
  // One by one on one shared list is quadratic (about a minute per round): not measured.
  if (what !== 'one subject') {
    variants.push({
      name: `subject index, one-by-one removal, ${what}`,
      op: `remove a leaving client's subscription with remove() (10 x 10,000, ${what})`,
      ops: CLIENTS * PER,
      run() {
        const { index, clients } = setup();
        for (const mine of clients) for (const e of mine) index.remove(e);
        return index.size;
      },
    });
  }
  return variants;
}
