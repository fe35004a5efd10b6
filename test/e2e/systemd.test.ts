// systemd socket activation with the real `systemd-socket-activate`: the daemon serves on the
// socket it was passed, tells NOTIFY_SOCKET it is ready and stopping, and leaves the socket
// file in place when it exits.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from '../../src/client/index.js';
import { BIN, requireCommand, tempDir } from '../helpers/processes.js';

const activate = requireCommand('systemd-socket-activate', 'systemd');
const python = requireCommand('python3');

/** A Unix datagram socket at `path` (via python3: Node has none) that prints what arrives. */
function notifyListener(path: string): {
  lines: () => string;
  stop: () => void;
  ready: Promise<void>;
} {
  const py = spawn('python3', [
    '-u',
    '-c',
    `import socket,sys
s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); print('bound', flush=True)
while True: print(s.recv(4096).decode().replace('\\n', '|'), flush=True)`,
    path,
  ]);
  let out = '';
  let resolveReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (resolveReady = r));
  py.stdout.setEncoding('utf8').on('data', (c: string) => {
    out += c;
    if (out.includes('bound')) resolveReady();
  });
  return { lines: () => out, stop: () => py.kill('SIGKILL'), ready };
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

void test(
  'socket activation: serves on the passed socket, notifies READY/STOPPING, keeps the socket file',
  { skip: activate !== true ? activate : python !== true ? python : false },
  async () => {
    const tmp = tempDir();
    const path = join(tmp.dir, 'bus.sock');
    const notify = notifyListener(join(tmp.dir, 'notify.sock'));
    await notify.ready;
    const sd = spawn(
      'systemd-socket-activate',
      [
        '-l',
        path,
        '-E',
        `NOTIFY_SOCKET=${join(tmp.dir, 'notify.sock')}`,
        process.execPath,
        BIN,
        'daemon',
        '-s',
        path,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    sd.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    try {
      await until(() => {
        try {
          return lstatSync(path).isSocket();
        } catch {
          return false;
        }
      }, 'the socket');
      // The first connection makes systemd-socket-activate exec the daemon with the socket.
      const c = await connect({ path, reconnect: false, connectTimeoutMs: 10_000 });
      assert.equal(c.publish('x', 'y'), true);
      const status = (await c.call('status')) as { clients: unknown[] };
      assert.equal(status.clients.length, 1);
      await c.close();
      assert.match(stderr, /listening on .*bus\.sock \(udsbus \S+, socket passed by systemd\)/);
      await until(() => notify.lines().includes('READY=1'), 'READY=1');
      assert.match(notify.lines(), /READY=1\|STATUS=listening on .*bus\.sock\|MAINPID=\d+/);
      sd.kill('SIGTERM');
      await new Promise((r) => sd.once('close', r));
      await until(() => notify.lines().includes('STOPPING=1'), 'STOPPING=1');
      assert.ok(lstatSync(path).isSocket(), 'the socket file belongs to systemd and stays');
      assert.doesNotMatch(stderr, /already listening/);
    } finally {
      sd.kill('SIGKILL');
      notify.stop();
      tmp.cleanup();
    }
  },
);
