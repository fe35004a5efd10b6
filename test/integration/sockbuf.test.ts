// The native helper and the send buffers it sets: the daemon's accepted sockets and the client
// library's socket, read back from the kernel with `ss -xm` (real daemon, real sockets).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from '../../src/client/index.js';
import {
  DAEMON_SOCK_BUF,
  DEFAULT_SOCK_BUF,
  nativeHelper,
  nativeProblem,
  setSendBuffer,
  socketBuffers,
} from '../../src/transport/sock-buf.js';
import { DaemonProc, requireCommand, tempDir } from '../helpers/processes.js';

function nativeAvailable(): true | string {
  const problem = nativeProblem();
  if (problem === '') return true;
  const reason = `the native helper is not built (${problem}); run npm run build:native`;
  if (process.env['UDSBUS_REQUIRE_E2E'] === '1')
    throw new Error(`UDSBUS_REQUIRE_E2E=1 but ${reason}`);
  return reason;
}

const native = nativeAvailable();
const ss = requireCommand('ss', 'iproute2');
const procNum = (name: string): number =>
  Number(readFileSync(`/proc/sys/net/core/${name}`, 'utf8').trim());
/** What the kernel reports after SO_SNDBUF = n: double, capped at double wmem_max. */
const granted = (n: number): number => 2 * Math.min(n, procNum('wmem_max'));

/** `ss -xm` rows: local path, local inode, peer inode, owning pids, send buffer (tb). */
function unixSockets(): {
  local: string;
  inode: number;
  peer: number;
  pids: number[];
  tb: number;
}[] {
  const out = execFileSync('ss', ['-xmpH'], { encoding: 'utf8' });
  const rows = [];
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    const tb = /tb(\d+)/.exec(line);
    if (f.length < 8 || tb === null) continue;
    rows.push({
      local: f[4]!,
      inode: Number(f[5]),
      peer: Number(f[7]),
      pids: [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])),
      tb: Number(tb[1]),
    });
  }
  return rows;
}

async function pair(dir: string): Promise<{ a: Socket; b: Socket; close: () => void }> {
  const path = join(dir, 'pair.sock');
  const server = createServer();
  server.listen(path);
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  const a = createConnection(path);
  await once(a, 'connect');
  const [b] = (await accepted) as [Socket];
  return {
    a,
    b,
    close: () => {
      a.destroy();
      b.destroy();
      server.close();
    },
  };
}

void test(
  'native helper: SO_SNDBUF as the kernel grants it, and clear errors for bad input',
  { skip: native === true ? false : native },
  async () => {
    const tmp = tempDir();
    const p = await pair(tmp.dir);
    try {
      const before = socketBuffers(p.a);
      assert.equal(before?.sndbuf, procNum('wmem_default'), 'a new socket has wmem_default');
      assert.equal(setSendBuffer(p.a, 1 << 20), granted(1 << 20));
      assert.equal(socketBuffers(p.a)?.sndbuf, granted(1 << 20));
      assert.equal(setSendBuffer(p.a, 0), null, '0 leaves the buffer alone');
      const h = nativeHelper()!;
      assert.throws(() => h.setSocketBuffers(-1, 1, 1), /non-negative integers expected/);
      assert.throws(
        () => (h.setSocketBuffers as (...a: unknown[]) => unknown)('3', 1, 1),
        /non-negative integers expected/,
      );
      assert.throws(() => h.getSocketBuffers(1_000_000), /Bad file descriptor/);
    } finally {
      p.close();
      tmp.cleanup();
    }
  },
);

void test(
  'the daemon asks for 1 MiB send buffers, the client for 4 MiB; --sock-buf 0 and sockBuf 0 keep the system default',
  { skip: native !== true ? native : ss === true ? false : ss },
  async () => {
    const tmp = tempDir();
    for (const [flag, daemonWant, clientWant] of [
      [[], granted(DAEMON_SOCK_BUF), granted(DEFAULT_SOCK_BUF)],
      [['--sock-buf', '0'], procNum('wmem_default'), procNum('wmem_default')],
    ] as const) {
      const path = join(tmp.dir, `bus${flag.length}.sock`);
      const d = await DaemonProc.start(path, [...flag]);
      const client = await connect({
        path,
        reconnect: false,
        ...(flag.length > 0 ? { sockBuf: 0 } : {}),
      });
      try {
        await client.flush();
        assert.match(
          d.stderr,
          flag.length > 0
            ? /socket buffers: system default \(--sock-buf 0\)/
            : /socket buffers: SO_SNDBUF 1048576 bytes per client/,
        );
        const rows = unixSockets();
        const daemonSide = rows.find((r) => r.local === path && r.pids.includes(d.child.pid!));
        assert.ok(daemonSide, `the daemon's end of the connection is listed by ss`);
        assert.equal(daemonSide.tb, daemonWant, 'the send buffer of the daemon end');
        const clientSide = rows.find((r) => r.inode === daemonSide.peer);
        assert.ok(clientSide, 'the client end is listed by ss');
        assert.ok(clientSide.pids.includes(process.pid));
        assert.equal(clientSide.tb, clientWant, 'the send buffer of the client end');
      } finally {
        await client.close();
        await d.stop();
      }
    }
    tmp.cleanup();
  },
);
