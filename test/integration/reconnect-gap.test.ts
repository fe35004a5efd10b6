// A daemon killed with SIGKILL and started again: `udsbus sub` reconnects, re-subscribes, and
// says that messages published meanwhile may be lost (a gap of unknown size), instead of
// carrying on as if nothing happened.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from '../../src/client/index.js';
import { DaemonProc, Proc, tempDir } from '../helpers/processes.js';

void test('after a daemon restart, sub reports a gap of unknown size and receives again', async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, 'bus.sock');
  let d = await DaemonProc.start(path);
  const sub = new Proc(['sub', 'rg.x', '-s', path, '--json']);
  try {
    await sub.stderrHas('subscribed to rg.x');
    d.kill('SIGKILL');
    await d.exit();
    d = await DaemonProc.start(path);
    await sub.stderrHas(
      'gap: reconnected; messages published on rg.x while disconnected may be lost',
      15_000,
    );
    await sub.waitFor((p) => p.stdout.includes('"gap"'), 'the JSON gap line');
    const gapLine = sub.stdout.split('\n').find((l) => l.includes('"gap"'));
    assert.ok(gapLine !== undefined, sub.stdout);
    assert.deepEqual(JSON.parse(gapLine).gap, {
      subject: 'rg.x',
      lost: 0,
      firstId: 0,
      lastId: 0,
      local: true,
      reconnect: true,
    });
    const pub = await connect({ path, reconnect: false });
    await sub.waitFor(
      (p) => {
        pub.publish('rg.x', 'again');
        return p.stdout.includes('"data":"again"');
      },
      'a message after the restart',
      10_000,
    );
    await pub.close();
  } finally {
    sub.kill('SIGTERM');
    await sub.exit();
    await d.stop();
    tmp.cleanup();
  }
});
