// Real socat as a foreign client: raw bytes in, the daemon's ERROR frame bytes out.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { decodeError, decodeServerHello, encodeHello } from '../../src/protocol/control-frames.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { DaemonProc, requireCommand, tempDir } from '../helpers/processes.js';

const socat = requireCommand('socat');

function viaSocat(path: string, input: Uint8Array): Uint8Array[] {
  const r = spawnSync('socat', ['-t', '2', '-', `UNIX-CONNECT:${path}`], { input, timeout: 5000 });
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
