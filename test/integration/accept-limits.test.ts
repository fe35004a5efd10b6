// Issue 9 items 8 and 10 (daemon part) against a real daemon: a daemon near its open-file limit
// refuses new connections with BUS_ERR_LIMIT (libuv would accept and close them silently at
// EMFILE), logs it (rate-limited), counts it in status, and recovers once fds are freed; the listen backlog is 4096 (capped by net.core.somaxconn) for path and abstract sockets.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Op } from '../../src/protocol/constants.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { decodeCallReply, encodeCall } from '../../src/protocol/control-frames.js';
import type { BrokerStatus } from '../../src/protocol/status.js';
import { nativeProblem } from '../../src/transport/sock-buf.js';
import { BIN, DaemonProc, requireCommand, tempDir } from '../helpers/processes.js';
import { RawClient } from '../helpers/raw-client.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Resolves true once the daemon's HELLO arrived, false when the connection closed first; fails
 * when neither happens within `ms` (a loaded machine can be slow: that is not a refusal).
 */
async function greeted(c: RawClient, ms = 15_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  let closed = false;
  void c.closed.then(() => (closed = true));
  while (Date.now() < deadline) {
    if (c.frames.some((f) => f[0] === Op.HELLO)) return true;
    if (closed) return false;
    await sleep(10);
  }
  throw new Error(`neither a HELLO nor a close within ${ms} ms`);
}

async function status(path: string): Promise<BrokerStatus> {
  const c = await RawClient.open(path);
  c.write(encodeCall(9, 'status'));
  const deadline = Date.now() + 3000;
  while (!c.frames.some((f) => f[0] === Op.CALL_REPLY) && Date.now() < deadline) await sleep(10);
  const reply = c.frames.find((f) => f[0] === Op.CALL_REPLY);
  c.socket.destroy();
  assert.ok(reply !== undefined, 'status answered');
  return decodeCallReply(reply).result as BrokerStatus;
}

const prlimit = requireCommand('prlimit', 'util-linux');

void test(
  'near the open-file limit: refusals are logged (once a second) and counted, and the daemon recovers',
  { skip: prlimit === true ? false : prlimit },
  async () => {
    const { dir, cleanup } = tempDir();
    const path = join(dir, 'bus.sock');
    const child = spawn('prlimit', [
      '--nofile=64:64',
      process.execPath,
      BIN,
      'daemon',
      '-s',
      path,
      '-q',
    ]);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const clients: RawClient[] = [];
    try {
      for (let i = 0; i < 50 && !stderr.includes('listening on'); i++) await sleep(100);
      assert.match(stderr, /listening on/);
      let refused = 0;
      for (let i = 0; i < 100 && refused === 0; i++) {
        const c = await RawClient.open(path);
        if (await greeted(c)) clients.push(c);
        else {
          refused++;
          const [e] = c.errors();
          assert.equal(
            e?.code,
            ErrorCode.LIMIT,
            `closed after ${clients.length} accepted without BUS_ERR_LIMIT; daemon: ${stderr}`,
          );
          assert.equal(e.fatal, true);
          assert.equal(e.message, 'too many connections (limit 32)');
        }
      }
      assert.equal(refused, 1, `a connection was refused after ${clients.length} were accepted`);
      // ulimit -n 64, minus 32 kept for the daemon itself.
      assert.equal(clients.length, 32);
      // More refusals within a second are summed into the next line, not logged each.
      for (let i = 0; i < 5; i++) {
        const c = await RawClient.open(path);
        assert.equal(await greeted(c), false);
      }
      for (let i = 0; i < 30 && !/cannot accept.*\n.*cannot accept/s.test(stderr); i++)
        await sleep(100);
      const lines = stderr.split('\n').filter((l) => l.includes('cannot accept connections'));
      assert.match(
        lines[0] ?? '',
        /^udsbus: cannot accept connections: at the limit of 32 connections \(maxConnections\); 1 refused since the last line, 1 in total; still serving$/,
      );
      assert.match(lines[1] ?? '', /; 5 refused since the last line, 6 in total; still serving$/);
      assert.equal(lines.length, 2, 'rate-limited (-q does not hide it)');
      // Free the fds: a new client connects, and status counts the failures.
      for (const c of clients.splice(0)) c.socket.destroy();
      await sleep(200);
      const fresh = await RawClient.open(path);
      assert.equal(await greeted(fresh), true, 'a new client connects once fds are free');
      fresh.socket.destroy();
      const st = await status(path);
      assert.equal(st.totals.acceptErrors, 6);
    } finally {
      for (const c of clients) c.socket.destroy();
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
      cleanup();
    }
  },
);

const ss = requireCommand('ss', 'iproute2');

void test(
  'the listen backlog is 4096 (capped by net.core.somaxconn), for path and abstract sockets',
  { skip: ss === true ? false : ss },
  async () => {
    const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
    const want = Math.min(4096, somaxconn);
    const { dir, cleanup } = tempDir();
    const names = [join(dir, 'bus.sock')];
    if (nativeProblem() === '') names.push(`@udsbus-backlog-${process.pid}`);
    const daemons = await Promise.all(names.map((p) => DaemonProc.start(p, ['-q'])));
    try {
      const out = spawnSync('ss', ['-xlH'], { encoding: 'utf8' }).stdout;
      for (const name of names) {
        const line = out.split('\n').find((l) => l.includes(` ${name} `));
        assert.ok(line !== undefined, `ss lists ${name}`);
        // u_str LISTEN Recv-Q Send-Q(=backlog) address ...
        assert.equal(Number(line.trim().split(/\s+/)[3]), want, line);
      }
    } finally {
      await Promise.all(daemons.map((d) => d.stop()));
      cleanup();
    }
  },
);
