// Socket trust: the daemon refuses a folder others could tamper with, and clients refuse a
// socket whose folder or owner would let another user's daemon receive their traffic.

import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from '../../src/client/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { DaemonProc, Proc, tempDir } from '../helpers/processes.js';

const isRoot = process.getuid?.() === 0;

void test('the daemon refuses a socket folder others may write to, and a symlinked folder', async () => {
  const tmp = tempDir();
  try {
    const open = join(tmp.dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const d1 = new Proc(['daemon', '-s', join(open, 'bus.sock')]);
    assert.equal(await d1.exit(), 1);
    assert.match(
      d1.stderr,
      /refusing to listen: socket folder .*open is writable by other users \(mode 0777\)/,
    );

    const real = join(tmp.dir, 'real');
    mkdirSync(real, { mode: 0o700 });
    symlinkSync(real, join(tmp.dir, 'link'));
    const d2 = new Proc(['daemon', '-s', join(tmp.dir, 'link', 'bus.sock')]);
    assert.equal(await d2.exit(), 1);
    assert.match(d2.stderr, /socket folder .*link is a symbolic link/);
  } finally {
    tmp.cleanup();
  }
});

void test('a client refuses a socket whose folder became writable by others', async () => {
  const tmp = tempDir();
  const dir = join(tmp.dir, 'bus');
  const d = await DaemonProc.start(join(dir, 'bus.sock'));
  try {
    chmodSync(dir, 0o777);
    await assert.rejects(
      connect({ path: d.path, reconnect: false }),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, ErrorCode.CONNECT);
        assert.match(
          e.message,
          /refusing to connect to .*bus\.sock: socket folder .* is writable by other users/,
        );
        return true;
      },
    );
    chmodSync(dir, 0o700);
    const c = await connect({ path: d.path, reconnect: false });
    await c.close();
  } finally {
    await d.stop();
    tmp.cleanup();
  }
});

void test(
  'a client refuses a socket that belongs to another user (not root)',
  { skip: isRoot ? false : 'needs root to give the socket to another uid' },
  async () => {
    const tmp = tempDir();
    const d = await DaemonProc.start(join(tmp.dir, 'bus.sock'));
    try {
      chownSync(d.path, 65534, 65534);
      await assert.rejects(
        connect({ path: d.path, reconnect: false }),
        /refusing to connect to .*bus\.sock: socket .*bus\.sock belongs to uid 65534, not to you \(0\) or root/,
      );
    } finally {
      await d.stop();
      tmp.cleanup();
    }
  },
);
