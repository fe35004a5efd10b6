// Real socat as a foreign client: raw bytes in, the daemon's ERROR frame bytes out.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { decodeError, decodeServerHello, encodeHello } from '../../src/protocol/control-frames.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { DaemonProc, requireCommand, tempDir } from '../helpers/processes.js';

const socat = requireCommand('socat');

function viaSocat(path: string, input: Uint8Array): Uint8Array[] {
  // socat addresses an abstract name at its exact length, as D-Bus and systemd do.
  const address = path.startsWith('@')
    ? `ABSTRACT-CONNECT:${path.slice(1)}`
    : `UNIX-CONNECT:${path}`;
  const r = spawnSync('socat', ['-t', '2', '-', address], { input, timeout: 5000 });
  assert.equal(r.status, 0, r.stderr.toString());
  const frames: Uint8Array[] = [];
  new FrameDecoder(1 << 20).push(r.stdout, (b) => frames.push(b.slice()));
  return frames;
}

void test(
  'socat: a non-HELLO first frame gets a fatal BUS_ERR_HANDSHAKE frame',
  { skip: socat === true ? false : socat },
  async () => {
    const tmp = tempDir();
    const d = await DaemonProc.start(join(tmp.dir, 'bus.sock'));
    try {
      const frames = viaSocat(d.path, Buffer.from('\x05hello'));
      assert.equal(frames.length, 1);
      const e = decodeError(frames[0]!);
      assert.equal(e.code, ErrorCode.HANDSHAKE);
      assert.equal(e.fatal, true);
      // A proper HELLO piped through socat gets the daemon's HELLO back.
      const ok = viaSocat(d.path, encodeHello(1, { name: 'socat' }));
      const hello = decodeServerHello(ok[0]!);
      assert.equal(hello.server, 'udsbus');
      assert.ok(hello.id > 0);
    } finally {
      await d.stop();
      tmp.cleanup();
    }
  },
);

void test(
  'socat: an abstract socket is reachable at the exact name length (ABSTRACT-CONNECT)',
  { skip: socat === true ? false : socat },
  async () => {
    const name = `@udsbus-e2e-${process.pid}-${Date.now()}`;
    const d = await DaemonProc.start(name);
    try {
      const hello = decodeServerHello(viaSocat(name, encodeHello(1, { name: 'socat' }))[0]!);
      assert.equal(hello.server, 'udsbus');
      // The kernel lists the name without padding: exactly '@' + name.
      const table = readFileSync('/proc/net/unix', 'utf8');
      assert.ok(
        table.split('\n').some((l) => l.endsWith(` ${name}`)),
        'name bound at its exact length',
      );
    } finally {
      await d.stop();
    }
  },
);
