// The daemon's lock on its socket path: two daemons racing on a stale socket, 50 rounds,
// exactly one listens each time; the lock file is refused when it is a planted symlink.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { linkSync, lstatSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from '../../src/client/index.js';
import { DaemonProc, Proc, tempDir } from '../helpers/processes.js';

/** The daemon's start line (not its "already listening" refusal). */
const listening = (p: Proc): boolean => /^udsbus: (udsbus \S+ )?listening on /m.test(p.stderr);
const settled = (p: Proc): boolean => listening(p) || p.child.exitCode !== null;

/** A socket file nobody listens on (bound by a process that exited without removing it). */
function staleSocket(path: string): void {
  const r = spawnSync(process.execPath, [
    '-e',
    `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
  ]);
  assert.equal(r.signal, 'SIGKILL', r.stderr.toString());
  assert.ok(lstatSync(path).isSocket());
}

void test('two daemons racing on a stale socket: exactly one listens, 50 rounds', async () => {
  const tmp = tempDir();
  const template = join(tmp.dir, 'stale.sock');
  staleSocket(template);
  const path = join(tmp.dir, 'bus.sock');
  try {
    for (let round = 0; round < 50; round++) {
      linkSync(template, path); // a fresh stale socket file at the path
      const a = new Proc(['daemon', '-s', path]);
      const b = new Proc(['daemon', '-s', path]);
      try {
        await a.waitFor(settled, 'daemon a to listen or exit', 10_000);
        await b.waitFor(settled, 'daemon b to listen or exit', 10_000);
        const winners = [a, b].filter(listening);
        assert.equal(winners.length, 1, `round ${round}: a: ${a.stderr} b: ${b.stderr}`);
        const loser = winners[0] === a ? b : a;
        assert.equal(await loser.exit(), 1, `round ${round}`);
        assert.match(loser.stderr, /already listening/);
        // The winner serves.
        const c = await connect({ path, reconnect: false });
        await c.close();
        winners[0]!.kill('SIGTERM');
        assert.equal(await winners[0]!.exit(), 0);
      } finally {
        a.kill('SIGKILL');
        b.kill('SIGKILL');
      }
    }
  } finally {
    tmp.cleanup();
  }
});

void test('a symlink planted at the lock path is refused, not followed', async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, 'bus.sock');
  const target = join(tmp.dir, 'elsewhere');
  symlinkSync(target, `${path}.lock`);
  try {
    const d = new Proc(['daemon', '-s', path]);
    assert.equal(await d.exit(), 1);
    assert.match(d.stderr, /cannot lock .*bus\.sock\.lock/);
    assert.throws(() => lstatSync(target), 'the symlink target was not created');
    unlinkSync(`${path}.lock`);
    const ok = await DaemonProc.start(path);
    assert.equal(await ok.stop(), 0);
  } finally {
    tmp.cleanup();
  }
});
