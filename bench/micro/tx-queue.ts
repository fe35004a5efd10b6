// TX queue micro-benchmarks: queueing shared 64-byte envelopes for one slow connection and
// draining them into 256 KiB write batches, at one priority and at two.

import { TxQueue } from '../../src/broker/tx-queue.js';
import type { Micro } from './harness.js';

const ENVELOPE = new Uint8Array(64 + 28).fill(0x62);
const BATCH = 256 * 1024;

/** Pushes `ops` envelopes in bursts of 1,024 and drains each burst in write batches. */
function pushAndDrain(ops: number, priorities: number): number {
  const q = new TxQueue();
  let bytes = 0;
  for (let i = 0; i < ops; i += 1024) {
    for (let j = 0; j < 1024; j++) q.push(j % priorities === 0 ? 0 : 5, 1, ENVELOPE, i + j);
    for (let b = q.take(BATCH); b !== null; b = q.take(BATCH)) bytes += b.length;
  }
  return bytes;
}

export const txQueueMicros: Micro[] = [
  {
    name: 'TX queue, one priority',
    op: 'push one 92 B envelope and write it out in a 256 KiB batch',
    ops: 1_024_000,
    run: (ops) => pushAndDrain(ops, 1),
  },
  {
    name: 'TX queue, two priorities',
    op: 'the same with every other envelope at priority 5',
    ops: 1_024_000,
    run: (ops) => pushAndDrain(ops, 2),
  },
];
