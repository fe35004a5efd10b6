// A small bus program for flow-control tests, run as its own process:
//   publish PATH SUBJECT COUNT SIZE [PRIORITY]   publish with backpressure, print a JSON summary
//   count PATH SUBJECT POLICY                    subscribe, print {"received","lost","order"} on SIGUSR2 and at exit
//   dsend PATH TO COUNT SIZE                     send direct messages with backpressure
//   drecv PATH COUNT                             print "id N", then count direct messages until COUNT
//   steady PATH SUBJECT RATE SECONDS             publish RATE msg/s for SECONDS across daemon restarts

import { connect, type Client } from '../../src/client/index.js';
import type { SlowPolicyValue } from '../../src/protocol/constants.js';

const [mode, path, ...rest] = process.argv.slice(2);

function print(o: unknown): void {
  process.stdout.write(JSON.stringify(o) + '\n');
}

async function pump(
  client: Client,
  count: number,
  one: (i: number) => boolean,
): Promise<{ stalls: number }> {
  let stalls = 0;
  for (let i = 0; i < count; i++) {
    if (!one(i)) {
      stalls++;
      await new Promise((r) => client.once('drain', r));
    }
  }
  return { stalls };
}

async function main(): Promise<void> {
  if (path === undefined) throw new Error('usage: bus-tool MODE PATH ...');
  switch (mode) {
    case 'publish': {
      const [subject, count, size, prio] = rest;
      const client = await connect({ path, name: 'bus-tool publish', reconnect: false });
      const payload = new Uint8Array(Number(size));
      const priority = Number(prio ?? 0);
      const t0 = Date.now();
      const { stalls } = await pump(client, Number(count), () =>
        client.publish(subject!, payload, { priority }),
      );
      await client.flush();
      print({ published: Number(count), ms: Date.now() - t0, stalls, metrics: client.metrics() });
      await client.close();
      return;
    }
    case 'count': {
      const [subject, policy, quietFlag] = rest;
      const client = await connect({ path, name: 'bus-tool count', reconnect: false });
      let received = 0;
      let lost = 0;
      const firstPrio: number[] = [];
      const sub = client.subscribe(
        subject!,
        (msg) => {
          received++;
          if (msg.priority > 0) firstPrio.push(received);
        },
        { onSlow: policy as SlowPolicyValue },
      );
      sub.on('gap', (g: { lost: number }) => (lost += g.lost));
      await client.flush();
      const report = (): void => print({ received, lost, prioAt: firstPrio });
      process.on('SIGUSR2', report);
      if (quietFlag !== 'quiet') print({ ready: true, id: client.id });
      await new Promise((r) => client.once('close', r));
      report();
      return;
    }
    case 'dsend': {
      const [to, count, size] = rest;
      const client = await connect({ path, name: 'bus-tool dsend', reconnect: false });
      const payload = new Uint8Array(Number(size));
      let maxDepth = 0;
      const timer = setInterval(() => {
        const m = client.metrics();
        maxDepth = Math.max(maxDepth, m.queuedBytes);
        print({ progress: true, metrics: m });
      }, 100);
      const { stalls } = await pump(client, Number(count), () => client.send(Number(to), payload));
      await client.flush();
      clearInterval(timer);
      print({ done: true, stalls, maxDepth, metrics: client.metrics() });
      await client.close();
      return;
    }
    case 'drecv': {
      const [count] = rest;
      const client = await connect({ path, name: 'bus-tool drecv', reconnect: false });
      let n = 0;
      const done = new Promise<void>((resolve) =>
        client.onDirect(() => {
          if (++n === Number(count)) resolve();
        }),
      );
      print({ id: client.id });
      await done;
      print({ received: n });
      await client.close();
      return;
    }
    case 'steady': {
      const [subject, rate, seconds] = rest;
      const client = await connect({
        path,
        name: 'bus-tool steady',
        reconnect: { minMs: 20, maxMs: 500 },
      });
      let attempted = 0;
      let refused = 0;
      let reconnects = 0;
      client.on('reconnect', () => {
        reconnects++;
        print({ reconnected: true, at: attempted });
      });
      client.on('disconnect', () => print({ disconnected: true, at: attempted }));
      const end = Date.now() + Number(seconds) * 1000;
      const every = 1000 / Number(rate);
      while (Date.now() < end) {
        attempted++;
        try {
          client.publish(subject!, String(attempted));
        } catch {
          refused++;
        }
        await new Promise((r) => setTimeout(r, every));
      }
      await client.close({ drainTimeoutMs: 3000 });
      print({ attempted, refused, reconnects, metrics: client.metrics() });
      return;
    }
    default:
      throw new Error(`unknown mode ${String(mode)}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bus-tool: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
