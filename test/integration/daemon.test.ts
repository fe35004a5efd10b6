// The daemon process: socket file lifecycle, permissions, stale and live sockets, abstract
// sockets, signals, and clients that send garbage while others keep working.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { lstatSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from '../../src/client/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { BIN, DaemonProc, Proc, tempDir } from '../helpers/processes.js';
import { RawClient } from '../helpers/raw-client.js';

async function withDaemon(
  fn: (d: DaemonProc, dir: string) => Promise<void>,
  extra: string[] = [],
): Promise<void> {
  const tmp = tempDir();
  const d = await DaemonProc.start(join(tmp.dir, 'bus.sock'), extra);
  try {
    await fn(d, tmp.dir);
  } finally {
    await d.stop();
    tmp.cleanup();
  }
}

/** A pub/sub round trip through the library: proves the daemon still serves. */
async function roundTrip(path: string): Promise<void> {
  const a = await connect({ path, reconnect: false });
  const b = await connect({ path, reconnect: false });
  const got = new Promise<string>((resolve) =>
    b.subscribe('alive', (m) => resolve(new TextDecoder().decode(m.data))),
  );
  await b.flush();
  a.publish('alive', 'yes');
  assert.equal(await got, 'yes');
  await a.close();
  await b.close();
}

void test('npm start path: the default socket under $XDG_RUNTIME_DIR, folder 0700, socket 0600; SIGTERM removes it', async () => {
  const tmp = tempDir();
  const env = { XDG_RUNTIME_DIR: tmp.dir, UDSBUS_SOCKET: '' };
  const path = join(tmp.dir, 'udsbus', 'bus.sock');
  const d = new Proc(['daemon'], env);
  await d.stderrHas(`listening on ${path}`);
  assert.equal(statSync(join(tmp.dir, 'udsbus')).mode & 0o777, 0o700);
  assert.ok(lstatSync(path).isSocket());
  assert.equal(lstatSync(path).mode & 0o777, 0o600);
  await roundTrip(path);
  d.kill('SIGTERM');
  assert.equal(await d.exit(), 0);
  assert.equal(existsSync(path), false, 'socket removed on SIGTERM');
  assert.match(d.stderr, /SIGTERM: stopping/);
  assert.match(d.stderr, /stopped/);
  tmp.cleanup();
});

void test('a second daemon on a live socket refuses to start and leaves the socket alone', async () => {
  await withDaemon(async (d) => {
    const second = new Proc(['daemon', '-s', d.path]);
    assert.equal(await second.exit(), 1);
    assert.match(second.stderr, /already listening/);
    await roundTrip(d.path);
  });
});

void test('a stale socket file (daemon killed with SIGKILL) is probed and replaced', async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, 'bus.sock');
  const first = await DaemonProc.start(path);
  first.kill('SIGKILL');
  await first.exit();
  assert.ok(lstatSync(path).isSocket(), 'the killed daemon left its socket');
  const second = await DaemonProc.start(path);
  await roundTrip(path);
  assert.equal(await second.stop(), 0);
  tmp.cleanup();
});

void test('a path that exists and is not a socket is never removed', async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, 'bus.sock');
  writeFileSync(path, 'precious');
  const d = new Proc(['daemon', '-s', path]);
  assert.equal(await d.exit(), 1);
  assert.match(d.stderr, /not a socket/);
  assert.ok(lstatSync(path).isFile());
  tmp.cleanup();
});

void test('an abstract socket (@name) works and leaves no file', async () => {
  const name = `@udsbus-test-${process.pid}-${Date.now()}`;
  const d = await DaemonProc.start(name);
  await roundTrip(name);
  assert.equal(await d.stop(), 0);
});

void test('garbage after the handshake: fatal ERROR frame and disconnect; other clients carry on', async () => {
  await withDaemon(async (d) => {
    const healthy = await connect({ path: d.path, reconnect: false });
    const raw = await RawClient.open(d.path);
    raw.write([0x03, 0xee, 0xee, 0xee]); // a complete frame with an unknown op
    await raw.waitClosed();
    const errs = raw.errors();
    assert.equal(errs.length, 1);
    assert.equal(errs[0]!.code, ErrorCode.PROTOCOL);
    assert.equal(errs[0]!.fatal, true);
    assert.match(errs[0]!.message, /unknown op 0xee/);
    await roundTrip(d.path);
    assert.equal(healthy.connected, true);
    await healthy.close();
    assert.match(d.stderr, /BUS_ERR_PROTOCOL/);
  });
});

void test('an oversized length is refused before the body arrives', async () => {
  await withDaemon(async (d) => {
    const raw = await RawClient.open(d.path);
    raw.write([0x80, 0x80, 0x80, 0x80, 0x01]); // 2^28 bytes announced, none sent
    await raw.waitClosed();
    assert.equal(raw.errors()[0]!.code, ErrorCode.FRAME_TOO_LARGE);
    assert.match(raw.errors()[0]!.message, /exceeds the maximum of 1048576/);
    await roundTrip(d.path);
  });
});

void test('--max-frame is enforced for the library too: a too-large publish throws before sending', async () => {
  await withDaemon(
    async (d) => {
      const c = await connect({ path: d.path, reconnect: false });
      assert.equal(c.server?.maxFrame, 1024);
      assert.throws(() => c.publish('big', new Uint8Array(2000)), {
        code: ErrorCode.FRAME_TOO_LARGE,
      });
      c.publish('small', new Uint8Array(100));
      await c.flush();
      assert.equal(c.connected, true);
      await c.close();
    },
    ['--max-frame', '1024'],
  );
});

void test('a client speaking protocol version 2 gets BUS_ERR_VERSION naming both versions', async () => {
  await withDaemon(async (d) => {
    const raw = await RawClient.open(d.path, true, 2);
    await raw.waitClosed();
    const e = raw.errors()[0]!;
    assert.equal(e.code, ErrorCode.VERSION);
    assert.match(e.message, /version 2.*version 1/);
    assert.deepEqual(e.detail, { client: 2, server: 1 });
  });
});

void test('many bad clients at once do not disturb a steady publisher and subscriber', async () => {
  await withDaemon(async (d) => {
    const pubc = await connect({ path: d.path, reconnect: false });
    const subc = await connect({ path: d.path, reconnect: false });
    let n = 0;
    subc.subscribe('steady', () => n++);
    await subc.flush();
    const bad = await Promise.all(Array.from({ length: 20 }, () => RawClient.open(d.path, false)));
    bad.forEach((b, i) => b.write(i % 2 === 0 ? [0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f] : [0x00]));
    for (let i = 0; i < 1000; i++) pubc.publish('steady', 'x');
    await Promise.all(bad.map((b) => b.waitClosed()));
    await pubc.flush();
    await subc.flush();
    assert.equal(n, 1000);
    for (const b of bad)
      assert.ok([ErrorCode.HANDSHAKE, ErrorCode.PROTOCOL].includes(b.errors()[0]!.code as never));
    await pubc.close();
    await subc.close();
  });
});

void test('daemon --help and bad options', async () => {
  const h = spawn(process.execPath, [BIN, 'daemon', '--bogus']);
  const code = await new Promise((resolve) => h.on('close', resolve));
  assert.equal(code, 2);
});
