// Tests that after a fatal ERROR the daemon side closes the socket fully once its output is
// written, even when the peer never ends its own side (a real Unix socket, broker in-process).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Broker } from '../../src/broker/broker.js';
import { Op, PROTOCOL_VERSION } from '../../src/protocol/constants.js';
import { decodeError, encodeHello } from '../../src/protocol/control-frames.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { attachSocket } from '../../src/transport/unix-server.js';

void test('fatal ERROR: the frame arrives, then the daemon closes the connection fully (not a half-close)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'udsbus-close-'));
  const path = join(dir, 'bus.sock');
  const broker = new Broker();
  const server = createServer((socket) => attachSocket(broker, socket));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  try {
    // allowHalfOpen: this peer never ends its side on its own.
    const sock = createConnection({ path, allowHalfOpen: true });
    const frames: Uint8Array[] = [];
    const decoder = new FrameDecoder(1 << 20);
    sock.on('data', (c: Buffer) => decoder.push(c, (b) => frames.push(b.slice())));
    const ended = new Promise<void>((resolve) => sock.once('end', resolve));
    await new Promise<void>((resolve) => sock.once('connect', resolve));
    sock.write(encodeHello(PROTOCOL_VERSION, { name: 'bad' }));
    sock.write(Uint8Array.from([0x02, 0xee, 0x00])); // unknown op: fatal
    await ended;
    const err = frames.find((f) => f[0] === Op.ERROR);
    assert.ok(err !== undefined, 'the ERROR was delivered before the end');
    assert.equal(decodeError(err).code, ErrorCode.PROTOCOL);
    // The daemon's session is gone although this peer has not ended its side.
    const t0 = Date.now();
    while (broker.size > 0 && Date.now() - t0 < 2000) await new Promise((r) => setImmediate(r));
    assert.equal(broker.size, 0, 'the daemon closed its socket fully');
    assert.equal(sock.writable, true, 'the peer side was not ended by the peer');
    sock.destroy();
  } finally {
    await broker.shutdown(0);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  }
});
