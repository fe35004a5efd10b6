// Event sources (issue 10, point 4) against a real daemon process with real FIFOs, files and
// commands: line framing through a FIFO whose writer closes and reopens, fixed:24 binary records
// (a Linux input_event) written by a node program, a file followed like tail -F through
// truncation and rotation, a command's stdout, errors, and 1 GB written with nobody reading
// while the daemon's RSS stays bounded.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect, type Client, type Msg } from '../../src/client/index.js';
import { Proc, daemonPerFile, runCli } from '../helpers/processes.js';

const bus = daemonPerFile(['--no-persist']);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

async function cli(args: string[]): ReturnType<typeof runCli> {
  return runCli([...args, '-s', bus.path]);
}

async function collect(subject: string): Promise<{ client: Client; msgs: Msg[] }> {
  const client = await connect({ path: bus.path, name: 'test' });
  const msgs: Msg[] = [];
  client.subscribe(subject, (m) => msgs.push(m));
  await client.flush();
  return { client, msgs };
}

async function until(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function mkfifo(name: string): string {
  const path = join(bus.dir, name);
  const r = spawnSync('mkfifo', [path]);
  assert.equal(r.status, 0, String(r.stderr));
  return path;
}

/** Runs `sh -c script` to its end (a writer that opens, writes and closes). */
function sh(script: string): void {
  const r = spawnSync('/bin/sh', ['-c', script], { timeout: 10_000 });
  assert.equal(r.status, 0, String(r.stderr));
}

void test("acceptance: printf 'k1\\nk2\\n' > fifo reaches udsbus sub as two messages; a writer closing and another opening keeps working", async () => {
  const f = mkfifo('keys.fifo');
  const add = await cli([
    'source',
    'add',
    'keys',
    '--path',
    f,
    '--subject',
    'keys',
    '--framing',
    'line',
  ]);
  assert.equal(add.code, 0, add.stderr);
  const sub = new Proc(['sub', 'keys', '-c', '4', '-s', bus.path]);
  const { client, msgs } = await collect('keys');
  try {
    await sub.stderrHas('subscribed to keys', 10_000);
    sh(`printf 'k1\\nk2\\n' > ${f}`);
    await until(() => msgs.length === 2, 'two messages');
    sh(`printf 'k3\\n' > ${f}; printf 'k4\\n' > ${f}`);
    await until(() => msgs.length === 4, 'two more after the writer reopened');
    assert.deepEqual(
      msgs.map((m) => text(m.data)),
      ['k1', 'k2', 'k3', 'k4'],
    );
    assert.deepEqual({ ...msgs[0]!.headers }, { source: 'keys', path: f });
    assert.equal(msgs[0]!.from, 0);
    assert.equal(await sub.exit(5000), 0, sub.stderr);
    assert.equal(sub.stdout, 'k1\nk2\nk3\nk4\n');
    const ls = JSON.parse((await cli(['source', 'ls', '--json'])).stdout) as {
      name: string;
      kind: string;
      records: number;
      state: string;
    }[];
    const keys = ls.find((s) => s.name === 'keys')!;
    assert.equal(keys.kind, 'fifo');
    assert.equal(keys.records, 4);
    assert.equal(keys.state, 'open');
    assert.equal((await client.status()).totals.sources, ls.length);
  } finally {
    await client.close();
  }
});

void test('fixed:24: binary input_event records written by a program arrive one per message, bytes unchanged', async () => {
  const f = mkfifo('input.fifo');
  const { client, msgs } = await collect('input.kbd');
  try {
    await client.addSource({ name: 'kbd', path: f, subject: 'input.kbd', framing: 'fixed:24' });
    // struct input_event on 64-bit Linux: timeval (2 x int64), type u16, code u16, value s32.
    const program = `
      const fs = require('node:fs');
      const out = Buffer.alloc(24 * 3);
      for (let i = 0; i < 3; i++) {
        out.writeBigInt64LE(1700000000n + BigInt(i), i * 24);
        out.writeBigInt64LE(BigInt(i * 1000), i * 24 + 8);
        out.writeUInt16LE(1, i * 24 + 16);      // EV_KEY
        out.writeUInt16LE(30 + i, i * 24 + 18); // KEY_A, KEY_S, KEY_D
        out.writeInt32LE(1, i * 24 + 20);       // pressed
      }
      const fd = fs.openSync(process.argv[1], 'w');
      fs.writeSync(fd, out.subarray(0, 30)); // a record split across two writes
      fs.writeSync(fd, out.subarray(30));
      fs.closeSync(fd);`;
    const r = spawnSync(process.execPath, ['-e', program, f], { timeout: 10_000 });
    assert.equal(r.status, 0, String(r.stderr));
    await until(() => msgs.length === 3, 'three records');
    for (const [i, m] of msgs.entries()) {
      assert.equal(m.data.length, 24);
      const b = Buffer.from(m.data);
      assert.equal(b.readBigInt64LE(0), 1700000000n + BigInt(i));
      assert.equal(b.readUInt16LE(16), 1);
      assert.equal(b.readUInt16LE(18), 30 + i);
      assert.equal(b.readInt32LE(20), 1);
    }
  } finally {
    await client.removeSource('kbd');
    await client.close();
  }
});

void test('a regular file is followed like tail -F: appended lines, then truncation, then rotation', async () => {
  const file = join(bus.dir, 'app.log');
  writeFileSync(file, 'old line\n');
  const { client, msgs } = await collect('log.app');
  const sys = await collect('$SYS.source.applog');
  try {
    const info = await client.addSource({ name: 'applog', path: file, subject: 'log.app' });
    assert.equal(info.kind, 'file');
    await until(() => sys.msgs.length >= 1, 'the source opened');
    appendFileSync(file, 'a\nb\n');
    await until(() => msgs.length === 2, 'the appended lines');
    writeFileSync(file, 'c\n'); // truncated, then written
    await until(() => msgs.length === 3, 'the line after the truncation');
    renameSync(file, `${file}.1`);
    writeFileSync(file, 'd\n');
    await until(() => msgs.length === 4, 'the line of the new file');
    assert.deepEqual(
      msgs.map((m) => text(m.data)),
      ['a', 'b', 'c', 'd'],
    );
    const events = sys.msgs.map((m) => (JSON.parse(text(m.data)) as { event: string }).event);
    assert.deepEqual(events, ['open', 'truncated', 'rotated']);
  } finally {
    await client.removeSource('applog');
    await client.close();
    await sys.client.close();
  }
});

void test("a command's stdout is a source; a command that ends is restarted with backoff and reported", async () => {
  const { client, msgs } = await collect('cmd.out');
  const sys = await collect('$SYS.source.cmd');
  try {
    await client.addSource({ name: 'cmd', command: "printf 'x1\\nx2\\n'", subject: 'cmd.out' });
    await until(() => msgs.length >= 4, 'two runs of the command');
    assert.deepEqual(
      msgs.slice(0, 4).map((m) => text(m.data)),
      ['x1', 'x2', 'x1', 'x2'],
    );
    const errors = sys.msgs
      .map((m) => JSON.parse(text(m.data)) as { event: string; error?: string; retryMs?: number })
      .filter((e) => e.event === 'error');
    assert.ok(errors.length >= 1);
    assert.equal(errors[0]!.error, 'the command ended (exit code 0)');
    assert.equal(errors[0]!.retryMs, 100);
  } finally {
    const rm = await cli(['source', 'rm', 'cmd']);
    assert.equal(rm.code, 0, rm.stderr);
    await client.close();
    await sys.client.close();
  }
});

void test('source errors: usage (exit 2), a missing path or a taken name (exit 1)', async () => {
  const noSubject = await cli(['source', 'add', 'x', '--path', '/tmp']);
  assert.equal(noSubject.code, 2);
  assert.match(noSubject.stderr, /^udsbus: source add needs --subject\n/);
  const badFraming = await cli([
    'source',
    'add',
    'x',
    '--path',
    '/tmp',
    '--subject',
    's',
    '-f',
    'csv',
  ]);
  assert.equal(badFraming.code, 2);
  const missing = join(bus.dir, 'missing');
  const r = await cli(['source', 'add', 'x', '--path', missing, '--subject', 's']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `udsbus: source.add x: cannot read ${missing}: ENOENT\n`);
  const dir = await cli(['source', 'add', 'x', '--path', bus.dir, '--subject', 's']);
  assert.equal(dir.code, 1);
  assert.match(dir.stderr, /is not a FIFO, a character device or a regular file\n$/);
  const f = mkfifo('dup.fifo');
  assert.equal((await cli(['source', 'add', 'dup', '--path', f, '--subject', 's'])).code, 0);
  const dup = await cli(['source', 'add', 'dup', '--path', f, '--subject', 's']);
  assert.equal(dup.code, 1);
  assert.equal(dup.stderr, 'udsbus: source.add: a source dup exists already\n');
  const rm = await cli(['source', 'rm', 'nope']);
  assert.equal(rm.code, 1);
  assert.equal(rm.stderr, 'udsbus: source.rm: no source nope\n');
  assert.equal((await cli(['source', 'rm', 'dup'])).code, 0);
});

/** The daemon's resident set, bytes. */
function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

/** Writes `bytes` of 1 KiB lines into `path` as fast as it can; resolves when done. */
function flood(path: string, bytes: number): Promise<number | null> {
  const program = `
    const fs = require('node:fs');
    const line = Buffer.alloc(1024, 0x78); line[1023] = 0x0a;
    const chunk = Buffer.concat(Array.from({ length: 1024 }, () => line));
    const fd = fs.openSync(process.argv[1], 'w');
    for (let n = 0; n < ${bytes}; n += chunk.length) fs.writeSync(fd, chunk);
    fs.closeSync(fd);`;
  const child = spawn(process.execPath, ['-e', program, path], { stdio: 'ignore' });
  return new Promise((resolve) => child.on('close', resolve));
}

void test(
  '1 GB written as fast as possible with no reader, then 256 MB to a subscriber that does not read: the daemon RSS stays bounded',
  { timeout: 150_000 },
  async () => {
    const f = mkfifo('flood.fifo');
    const client = await connect({ path: bus.path });
    const pid = bus.proc.child.pid!;
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rss(pid))), 100);
    try {
      await client.addSource({ name: 'flood', path: f, subject: 'flood' });
      const started = Date.now();
      const code = await Promise.race([
        flood(f, 1 << 30),
        new Promise<null>((r) => setTimeout(() => r(null), 60_000)),
      ]);
      assert.equal(code, 0, `1 GB was not written within 60 s (${Date.now() - started} ms)`);
      // The daemon has read all of it (the writer ended when the last byte was in the pipe).
      let records = 0;
      for (let i = 0; i < 100 && records < 1 << 20; i++) {
        records = (await client.sources()).find((x) => x.name === 'flood')!.records;
        if (records < 1 << 20) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(records, 1 << 20, 'one record per 1 KiB line');
      // A subscriber that never reads: the source is paced, then the slow consumer is cut off.
      const slow = await connect({ path: bus.path, name: 'slow' });
      slow.subscribe('flood', () => undefined);
      await slow.flush();
      slow.pauseInput();
      const code2 = await Promise.race([
        flood(f, 256 << 20),
        new Promise<null>((r) => setTimeout(() => r(null), 60_000)),
      ]);
      assert.equal(code2, 0, '256 MB were not written within 60 s');
      await slow.close({ drainTimeoutMs: 0 }).catch(() => undefined);
      const after = (await client.sources()).find((s) => s.name === 'flood')!;
      assert.ok(after.records > 1 << 20, `records: ${after.records}`);
      assert.ok(after.unrouted >= 1 << 20, `unrouted: ${after.unrouted}`);
      assert.ok(peak < 300 * 1024 * 1024, `daemon RSS peaked at ${Math.round(peak / 1048576)} MB`);
    } finally {
      clearInterval(sampler);
      await client.removeSource('flood').catch(() => undefined);
      await client.close();
    }
  },
);
