// A bus shared with a group: --socket-mode 0660 --socket-group GID gives the socket (and a
// folder the daemon creates) to that group; a member connects, anybody else is refused by the
// kernel. Bad values are usage errors.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BIN, DaemonProc, hasCommand, runCli, tempDir } from '../helpers/processes.js';

const canSwitch = process.getuid?.() === 0 && hasCommand('setpriv');

function statusAs(uid: number, gid: number, path: string) {
  return spawnSync(
    'setpriv',
    [
      `--reuid=${uid}`,
      `--regid=${gid}`,
      '--clear-groups',
      process.execPath,
      BIN,
      'status',
      '-s',
      path,
    ],
    { encoding: 'utf8', timeout: 15_000 },
  );
}

void test(
  '--socket-mode 0660 --socket-group: a member of the group connects, another user does not',
  { skip: canSwitch ? false : 'needs root and setpriv' },
  async () => {
    const tmp = tempDir();
    chmodSync(tmp.dir, 0o755);
    const path = join(tmp.dir, 'shared', 'bus.sock');
    const d = await DaemonProc.start(path, ['--socket-mode', '0660', '--socket-group', '65533']);
    try {
      const sock = statSync(path);
      assert.equal(sock.mode & 0o777, 0o660);
      assert.equal(sock.gid, 65533);
      const dir = statSync(join(tmp.dir, 'shared'));
      assert.equal(dir.mode & 0o777, 0o750);
      assert.equal(dir.gid, 65533);
      const member = statusAs(65534, 65533, path);
      assert.equal(member.status, 0, member.stderr);
      const stranger = statusAs(65532, 65532, path);
      assert.equal(stranger.status, 1, stranger.stdout);
      assert.match(stranger.stderr, /EACCES|permission denied/i);
    } finally {
      await d.stop();
      tmp.cleanup();
    }
  },
);

void test('--socket-mode and --socket-group: bad values are usage errors (exit 2)', async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, 'bus.sock');
  for (const [args, why] of [
    [['--socket-mode', '0644'], /--socket-mode must be 0600, 0660 or 0666/],
    [['--socket-group', '65533'], /--socket-group needs --socket-mode 0660/],
    [
      ['--socket-mode', '0660', '--socket-group', 'no-such-group-here'],
      /no group "no-such-group-here"/,
    ],
  ] as const) {
    const r = await runCli(['daemon', '-s', path, ...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, why);
  }
  tmp.cleanup();
});
