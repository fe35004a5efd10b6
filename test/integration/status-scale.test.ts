// `status` at scale: with 10,000 connected clients and 2,000 subscribed patterns the library
// assembles every page, and a single page stays within what a client accepts.

import assert from 'node:assert/strict';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from '../../src/client/index.js';
import { encodeHello } from '../../src/protocol/control-frames.js';
import type { BrokerStatus } from '../../src/protocol/status.js';
import { DaemonProc, runCli, tempDir } from '../helpers/processes.js';

const CLIENTS = 10_000;

/** One raw connection that sends HELLO; a full listen backlog (EAGAIN) is retried. */
function holder(path: string, hello: Uint8Array): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const s = createConnection(path, () => {
      s.write(hello);
      resolve(s);
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EAGAIN') return reject(err);
      setTimeout(() => {
        holder(path, hello).then(resolve, reject);
      }, 10);
    });
    s.on('data', () => undefined); // the daemon's HELLO
  });
}

/** Opens `n` raw connections that each send HELLO, into `out`, 200 at a time. */
async function holders(path: string, n: number, out: Socket[]): Promise<void> {
  const hello = encodeHello(1, { name: 'holder' });
  for (let i = 0; i < n; i += 200) {
    const batch = Array.from({ length: Math.min(200, n - i) }, () => holder(path, hello));
    out.push(...(await Promise.all(batch)));
  }
}

void test(`status with ${CLIENTS} clients and 2,000 patterns, from the library and the CLI`, async () => {
  const tmp = tempDir();
  const d = await DaemonProc.start(join(tmp.dir, 'bus.sock'), ['-q']);
  const sockets: Socket[] = [];
  try {
    await holders(d.path, CLIENTS, sockets);
    const c = await connect({ path: d.path, reconnect: false, name: 'asker' });
    for (let i = 0; i < 2000; i++) c.subscribe(`scale.${i}`, () => undefined);
    // Wait until the daemon has seen every client's HELLO and the subscriptions.
    let first: BrokerStatus;
    const deadline = Date.now() + 60_000;
    do {
      first = (await c.call('status', { limit: 10 })) as BrokerStatus;
      if (Date.now() > deadline) throw new Error(`only ${first.clientsTotal} clients seen`);
      await new Promise((r) => setTimeout(r, 100));
    } while (first.clientsTotal < CLIENTS + 1 || first.subjectsTotal < 2000);
    assert.equal(first.clients.length, 10);
    assert.equal(first.clientsNext, first.clients[9]!.id);

    const all = await c.status();
    assert.equal(all.clients.length, CLIENTS + 1);
    assert.equal(new Set(all.clients.map((x) => x.id)).size, CLIENTS + 1, 'no client twice');
    assert.equal(all.subjects.length, 2000);
    assert.equal(all.clientsNext, null);
    assert.ok(all.clients.some((x) => x.name === 'asker' && x.subscriptions === 2000));

    // The largest page a client may ask for decodes too.
    const big = (await c.call('status', { limit: 1000 })) as BrokerStatus;
    assert.equal(big.clients.length, 1000);
    await assert.rejects(
      c.call('status', { limit: 5000 }),
      /limit must be an integer from 1 to 1000/,
    );

    const cli = await runCli(['status', '--json', '-s', d.path], { timeoutMs: 60_000 });
    assert.equal(cli.code, 0, cli.stderr);
    await c.close();
  } finally {
    for (const s of sockets) s.destroy();
    await d.stop();
    tmp.cleanup();
  }
});
