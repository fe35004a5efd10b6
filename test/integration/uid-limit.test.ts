// Connections per uid (kernel credentials): a flood from one user stops at
// --max-connections-per-uid with BUS_ERR_LIMIT, while another user and the daemon's own user
// still get in.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from '../../src/client/index.js';
import { DaemonProc, hasCommand, tempDir } from '../helpers/processes.js';

const canSwitch = process.getuid?.() === 0 && hasCommand('setpriv');
const protocol = new URL('../../src/protocol/index.js', import.meta.url).href;

/** Opens `n` connections as `uid`, each sending HELLO; prints how each was answered. */
function flood(uid: number, path: string, n: number): { hello: number; errors: string[] } {
  const script = `
    const net = require('node:net');
    import(${JSON.stringify(protocol)}).then(async (p) => {
      const results = await Promise.all(Array.from({ length: ${n} }, () => new Promise((resolve) => {
        const s = net.connect(${JSON.stringify(path)}, () => s.write(p.encodeHello(1, { name: 'flood' })));
        const d = new p.FrameDecoder(1 << 20);
        s.on('data', (c) => d.push(c, (b) => {
          if (b[0] === p.Op.HELLO) resolve('hello');
          else if (b[0] === p.Op.ERROR) resolve('error ' + p.decodeError(b).message);
        }));
        s.on('error', (e) => resolve('socket ' + e.code));
      })));
      console.log(JSON.stringify(results));
      process.exit(0);
    });`;
  const r = spawnSync(
    'setpriv',
    [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, '-e', script],
    { encoding: 'utf8', timeout: 20_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  const results = JSON.parse(r.stdout) as string[];
  return {
    hello: results.filter((x) => x === 'hello').length,
    errors: results.filter((x) => x !== 'hello'),
  };
}

void test(
  'one uid is held to --max-connections-per-uid; another uid and the owner still connect',
  { skip: canSwitch ? false : 'needs root and setpriv' },
  async () => {
    const tmp = tempDir();
    chmodSync(tmp.dir, 0o755);
    const path = join(tmp.dir, 'bus', 'bus.sock');
    const d = await DaemonProc.start(path, [
      '--socket-mode',
      '0666',
      '--max-connections-per-uid',
      '5',
    ]);
    try {
      const a = flood(65534, path, 8);
      assert.equal(a.hello, 5, a.errors.join('; '));
      assert.deepEqual(
        a.errors,
        Array(3).fill('error too many connections from uid 65534 (limit 5)'),
      );
      const b = flood(65533, path, 3);
      assert.equal(b.hello, 3, b.errors.join('; '));
      const owner = await connect({ path, reconnect: false });
      await owner.close();
      assert.match(d.stderr, /uid 65534 at its limit of 5 connections/);
    } finally {
      await d.stop();
      tmp.cleanup();
    }
  },
);
