// The folder hijack of issue 9 with two real uids (setpriv): another user pre-creates the
// victim's socket folder and listens there; the victim's CLI and library refuse and say why.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BIN, hasCommand, tempDir } from '../helpers/processes.js';

const ATTACKER = 65534;
const VICTIM = 65533;
// The system python: a python3 found on root's PATH may live where other uids cannot read.
const PYTHON = '/usr/bin/python3';
const canSwitch = process.getuid?.() === 0 && hasCommand('setpriv') && existsSync(PYTHON);

function as(uid: number, args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', ...args], {
    encoding: 'utf8',
    timeout: 15_000,
    env: { ...process.env, ...env },
  });
}

void test(
  "another uid's folder and socket at the victim's path: the victim's CLI and library refuse",
  { skip: canSwitch ? false : 'needs root, setpriv and /usr/bin/python3' },
  async () => {
    const tmp = tempDir();
    chmodSync(tmp.dir, 0o1777); // like /tmp: anyone may create, only owners may replace
    const folder = join(tmp.dir, `udsbus-${VICTIM}`);
    const sock = join(folder, 'bus.sock');
    // The attacker creates the folder first (mode 0777) and listens there with a 0666 socket.
    const attacker = spawn('setpriv', [
      `--reuid=${ATTACKER}`,
      `--regid=${ATTACKER}`,
      '--clear-groups',
      PYTHON,
      '-c',
      `import os,socket,sys,time
os.mkdir(sys.argv[1]); os.chmod(sys.argv[1], 0o777)
s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[2]); os.chmod(sys.argv[2], 0o666); s.listen(16)
print('ready', flush=True)
while True: s.accept()`,
      folder,
      sock,
    ]);
    try {
      await new Promise<void>((resolve, reject) => {
        attacker.stdout.once('data', () => resolve());
        attacker.once('exit', (code) => reject(new Error(`attacker exited ${code}`)));
      });
      assert.ok(existsSync(sock));
      const cli = as(VICTIM, [process.execPath, BIN, 'pub', 'a.x', 'secret'], {
        UDSBUS_SOCKET: sock,
      });
      assert.equal(cli.status, 1, cli.stderr);
      assert.match(
        cli.stderr,
        new RegExp(
          `refusing to connect to .*bus\\.sock: socket folder .*udsbus-${VICTIM} belongs to uid ${ATTACKER}`,
        ),
      );
      const lib = as(VICTIM, [
        process.execPath,
        '-e',
        `import(${JSON.stringify(new URL('../../src/client/index.js', import.meta.url).href)})
          .then(({ connect }) => connect({ path: ${JSON.stringify(sock)}, reconnect: false }))
          .then(() => { console.log('connected'); process.exit(0); },
                (e) => { console.log(e.code + ': ' + e.message); process.exit(3); });`,
      ]);
      assert.equal(lib.status, 3, lib.stdout + lib.stderr);
      assert.match(
        lib.stdout,
        new RegExp(`^BUS_ERR_CONNECT: refusing to connect .* belongs to uid ${ATTACKER}`),
      );
    } finally {
      attacker.kill('SIGKILL');
      tmp.cleanup();
    }
  },
);
