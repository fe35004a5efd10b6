// Keepalive, idle timeout and graceful shutdown with a real daemon process.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from '../../src/client/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { DaemonProc, tempDir } from '../helpers/processes.js';
import { RawClient } from '../helpers/raw-client.js';

void test('keepalive: a peer that leaves PINGs unanswered is closed; the library answers and stays', async () => {
  const tmp = tempDir();
  const d = await DaemonProc.start(join(tmp.dir, 'bus.sock'), [
    '--ping-ms',
    '100',
    '--max-pings-out',
    '2',
  ]);
  try {
    const lib = await connect({ path: d.path, reconnect: false });
    const raw = await RawClient.open(d.path); // handshakes, then never answers
    const t0 = Date.now();
    await raw.waitClosed(3000);
    const took = Date.now() - t0;
    const pings = raw.frames.filter((f) => f.length === 1 && f[0] === 0x02).length;
    assert.equal(pings, 2, 'two PINGs, then the close');
    const e = raw.errors()[0]!;
    assert.equal(e.code, ErrorCode.DISCONNECTED);
    assert.match(e.message, /2 keepalive pings unanswered/);
    assert.ok(took >= 200 && took < 1500, `closed after ${took} ms`);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(lib.connected, true, 'a client that answers PINGs stays connected');
    await lib.close();
  } finally {
    await d.stop();
    tmp.cleanup();
  }
});

void test('--idle-timeout-ms closes a client that sends nothing', async () => {
  const tmp = tempDir();
  const d = await DaemonProc.start(join(tmp.dir, 'bus.sock'), ['--idle-timeout-ms', '300']);
  try {
    const raw = await RawClient.open(d.path);
    await raw.waitClosed(4000);
    assert.equal(raw.errors()[0]!.code, ErrorCode.DISCONNECTED);
    assert.match(raw.errors()[0]!.message, /idle for 300 ms/);
  } finally {
    await d.stop();
    tmp.cleanup();
  }
});

void test('--idle-timeout-ms alone: a subscriber that never publishes stays (it answers the PING at half the timeout)', async () => {
  const tmp = tempDir();
  const d = await DaemonProc.start(join(tmp.dir, 'bus.sock'), ['--idle-timeout-ms', '300']);
  try {
    const sub = await connect({ path: d.path, reconnect: false });
    let n = 0;
    sub.subscribe('quiet.x', () => n++);
    await sub.flush();
    await new Promise((r) => setTimeout(r, 1500)); // five idle timeouts without publishing
    const pub = await connect({ path: d.path, reconnect: false });
    pub.publish('quiet.x', 'still here?');
    await pub.flush();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(n, 1, 'the quiet subscriber is still connected and receives');
    assert.doesNotMatch(d.stderr, /idle for/);
    await pub.close();
    await sub.close();
  } finally {
    await d.stop();
    tmp.cleanup();
  }
});

void test('SIGTERM: every message the daemon accepted reaches its subscriber before the close', async () => {
  const tmp = tempDir();
  const d = await DaemonProc.start(join(tmp.dir, 'bus.sock'));
  try {
    const sub = await connect({ path: d.path, reconnect: false });
    let n = 0;
    sub.subscribe('bye.x', () => n++);
    await sub.flush();
    const closed = new Promise<unknown>((resolve) => sub.once('close', resolve));
    const pub = await connect({ path: d.path, reconnect: false });
    const N = 50_000;
    for (let i = 0; i < N; i++) {
      if (!pub.publish('bye.x', 'payload-of-some-length'))
        await new Promise((r) => pub.once('drain', r));
    }
    await pub.flush(); // the daemon has read (and routed) all of them
    d.kill('SIGTERM');
    const err = (await closed) as { code?: string } | undefined;
    assert.equal(n, N, 'received + dropped (0) = accepted');
    assert.equal(err?.code, ErrorCode.SHUTDOWN);
    assert.equal(await d.exit(), 0);
    assert.doesNotMatch(d.stderr, /could not be flushed/);
    await pub.close({ drainTimeoutMs: 0 });
  } finally {
    d.kill('SIGKILL');
    tmp.cleanup();
  }
});
