// Subject-index micro-benchmarks: routing a hot subject (a cache hit), routing subjects the
// cache has not seen (a trie walk over 1,000 patterns with wildcards), and adding/removing.

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
];
