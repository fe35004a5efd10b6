// Peer credentials: the daemon reads SO_PEERCRED at accept, and `status` shows the kernel's
// pid/uid/gid next to the pid the client claimed, for a client run as another user too.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from '../../src/client/index.js';
import type { BrokerStatus } from '../../src/protocol/status.js';
import { DaemonProc, hasCommand, tempDir } from '../helpers/processes.js';

void test('status shows the kernel-verified pid, uid and gid of each client', async () => {
  const tmp = tempDir();
  const d = await DaemonProc.start(join(tmp.dir, 'bus.sock'));
  try {
    const c = await connect({ path: d.path, reconnect: false, name: 'me' });
    const status = (await c.call('status')) as BrokerStatus;
    const me = status.clients.find((x) => x.id === c.id);
    assert.ok(me !== undefined);
    assert.deepEqual(me.peer, {
      pid: process.pid,
      uid: process.getuid!(),
      gid: process.getgid!(),
    });
    await c.close();
    assert.match(
      d.stderr,
      new RegExp(
        `client \\d+ connected \\(name "me", pid ${process.pid}, uid ${process.getuid!()}\\)`,
      ),
    );
  } finally {
    await d.stop();
    tmp.cleanup();
  }
});

const canSwitch = process.getuid?.() === 0 && hasCommand('setpriv');

void test(
  'a client run as another uid (setpriv) is seen with that uid, whatever it claims',
  { skip: canSwitch ? false : 'needs root and setpriv' },
  async () => {
    const tmp = tempDir();
    chmodSync(tmp.dir, 0o755);
    // A shared bus: uid 65534 may open the socket, and the default policy lets it connect.
    const d = await DaemonProc.start(join(tmp.dir, 'bus.sock'), ['--socket-mode', '0666']);
    try {
      const watcher = await connect({ path: d.path, reconnect: false });
      const script = `
        import('${new URL('../../src/client/index.js', import.meta.url).href}').then(async ({ connect }) => {
          const c = await connect({ path: ${JSON.stringify(d.path)}, reconnect: false, name: 'nobody' });
          const s = await c.call('status');
          process.stdout.write(JSON.stringify({ id: c.id, pid: process.pid, s }));
          await c.close();
        });`;
      const r = spawnSync(
        'setpriv',
        ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script],
        { encoding: 'utf8', timeout: 10_000 },
      );
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { id: number; pid: number; s: BrokerStatus };
      const them = out.s.clients.find((x) => x.id === out.id);
      assert.deepEqual(them?.peer, { pid: out.pid, uid: 65534, gid: 65534 });
      await watcher.close();
    } finally {
      await d.stop();
      tmp.cleanup();
    }
  },
);
