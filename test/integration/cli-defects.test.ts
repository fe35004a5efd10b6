// Each CLI defect of issue 8, point 5, against a real daemon process: usage errors before
// connecting, signals, EPIPE, the verbose and JSON forms, bytes from stdin and files, the
// responder's error, help and exit codes, the daemon's start line.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from '../../src/client/index.js';
import { BIN, DaemonProc, Proc, daemonPerFile, runCli } from '../helpers/processes.js';

const bus = daemonPerFile();

async function sub(args: string[]): Promise<Proc> {
  const p = new Proc(['sub', '-s', bus.path, ...args]);
  await p.stderrHas('subscribed to');
  return p;
}

/** Runs `udsbus ARGS` with bytes on stdin. */
async function withInput(args: string[], input: Uint8Array): Promise<Proc> {
  const p = new Proc(args);
  p.child.stdin.end(input);
  await p.exit();
  return p;
}

function base64Of(p: Proc): string[] {
  return p.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const m = JSON.parse(l) as { data?: string; data_base64?: string };
      return m.data_base64 ?? Buffer.from(m.data ?? '').toString('base64');
    });
}

void test('usage errors exit 2 within a second, before connecting, with one line and a hint', async () => {
  const base = await runCli(['--version']);
  for (const args of [
    ['sub', 'a b'],
    ['sub', 'x', '--queue', 'bad q'],
    ['reply', 'a b', '--echo'],
    ['pub', 'a.*', 'x'],
    ['sub', 'x', '--frobnicate'],
    ['sub', 'x', '--queue', '-v'],
    ['req', 'x', 'y', '--timeout', '0'],
  ]) {
    const r = await runCli([...args, '-s', bus.path], { timeoutMs: 5000 });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.ms - base.ms < 1000, `${args.join(' ')} took ${r.ms} ms`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 2, r.stderr);
    assert.match(lines[0]!, /^udsbus: /);
    assert.match(lines[1]!, new RegExp(`^Run 'udsbus ${args[0]!} --help' for usage\\.$`));
    assert.doesNotMatch(r.stderr, /ambiguous|ERR_PARSE_ARGS|at .*\.js/);
  }
  const space = await runCli(['sub', 'a b', '-s', bus.path]);
  assert.match(space.stderr, /contains a space/);
  const unknown = await runCli(['sub', 'x', '--frobnicate']);
  assert.match(unknown.stderr, /^udsbus: unknown option "--frobnicate"$/m);
  const ambiguous = await runCli(['sub', 'x', '--queue', '-v']);
  assert.match(ambiguous.stderr, /option -q, --queue GROUP needs a value/);
});

void test('SIGTERM and SIGINT end a sub, even while its stdout is blocked', async () => {
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    const s = await sub(['sig.x']);
    s.kill(sig);
    assert.equal(await s.exit(3000), 0, `${sig}: ${s.stderr}`);
  }
  // A reader that never reads: fill the pipe, then signal.
  const s = await sub(['sig.blocked', '--on-slow', 'drop-oldest']);
  s.child.stdout.pause();
  const big = 'x'.repeat(1000);
  const lines = Array.from({ length: 2000 }, () => big).join('\n') + '\n';
  const pub = await runCli(['pub', 'sig.blocked', '-s', bus.path], { input: lines });
  assert.equal(pub.code, 0, pub.stderr);
  const t0 = Date.now();
  s.kill('SIGTERM');
  const code = await s.exit(5000);
  assert.ok(code !== null, 'ended by itself, not by SIGKILL');
  assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
});

void test('udsbus sub X | head -1 ends quietly with exit 0 (EPIPE)', async () => {
  const err = join(bus.dir, 'head.err');
  const sh = spawn('sh', [
    '-c',
    `{ "${process.execPath}" "${BIN}" sub head.x -s "${bus.path}" 2>"${err}"; echo "exit=$?" >>"${err}"; } | head -1`,
  ]);
  let out = '';
  sh.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => sh.on('close', resolve));
  const deadline = Date.now() + 5000;
  while (!readFileSync(err, { flag: 'a+' }).toString().includes('subscribed to')) {
    assert.ok(Date.now() < deadline, 'sub did not subscribe');
    await new Promise((r) => setTimeout(r, 50));
  }
  // head exits after the first line; the next writes meet a closed pipe.
  let done = false;
  void exited.then(() => (done = true));
  for (let i = 0; i < 50 && !done; i++) {
    await runCli(['pub', 'head.x', `line ${i}`, '-s', bus.path]);
  }
  assert.equal(await exited, 0);
  assert.equal(out, 'line 0\n');
  assert.equal(readFileSync(err, 'utf8'), 'udsbus: subscribed to head.x\nexit=0\n');
});

void test('sub -v prints subject, type and headers before the payload; --json carries them', async () => {
  const v = await sub(['verbose.*', '-v', '--count', '2']);
  const j = await sub(['verbose.*', '--json', '--count', '2']);
  let r = await runCli(['pub', 'verbose.a', 'plain', '-s', bus.path]);
  assert.equal(r.code, 0, r.stderr);
  r = await runCli(['pub', 'verbose.b', 'hello world', '-t', '7', '-H', 'k=v 1', '-s', bus.path]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await v.exit(), 0);
  assert.equal(v.stdout, 'verbose.a plain\nverbose.b type=7 k=v\\x201 hello world\n');
  assert.equal(await j.exit(), 0);
  const [a, b] = j.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(a!['subject'], 'verbose.a');
  assert.equal(a!['type'], undefined);
  assert.equal(b!['subject'], 'verbose.b');
  assert.equal(b!['type'], 7);
  assert.deepEqual(b!['headers'], { k: 'v 1' });
  assert.equal(b!['data'], 'hello world');
});

void test('binary stdin arrives byte for byte, split into lines on \\n only', async () => {
  const s = await sub(['bin.x', '--json', '--count', '3']);
  let p = await withInput(['pub', 'bin.x', '-s', bus.path], Buffer.from([0xff, 0xfe, 0x00]));
  assert.equal(p.child.exitCode, 0, p.stderr);
  p = await withInput(
    ['pub', 'bin.x', '-s', bus.path],
    Buffer.from([0x80, 0x0d, 0x0a, 0xc3, 0x28]),
  );
  assert.equal(p.child.exitCode, 0, p.stderr);
  assert.equal(await s.exit(), 0, s.stderr);
  assert.deepEqual(base64Of(s), [
    Buffer.from([0xff, 0xfe, 0x00]).toString('base64'),
    Buffer.from([0x80, 0x0d]).toString('base64'),
    Buffer.from([0xc3, 0x28]).toString('base64'),
  ]);
});

void test('pub -f FILE and pub --stdin-whole send one message each, bytes unchanged', async () => {
  const bytes = Buffer.concat([Buffer.from('line 1\nline 2\n'), Buffer.from([0, 0xff, 0x0a])]);
  const file = join(bus.dir, 'payload.bin');
  writeFileSync(file, bytes);
  const s = await sub(['file.x', '--json', '--count', '2']);
  const f = await runCli(['pub', 'file.x', '-f', file, '-s', bus.path]);
  assert.equal(f.code, 0, f.stderr);
  const w = await withInput(['pub', 'file.x', '--stdin-whole', '-s', bus.path], bytes);
  assert.equal(w.child.exitCode, 0, w.stderr);
  assert.equal(await s.exit(), 0, s.stderr);
  assert.deepEqual(base64Of(s), [bytes.toString('base64'), bytes.toString('base64')]);
  const missing = await runCli(['pub', 'file.x', '-f', join(bus.dir, 'none'), '-s', bus.path]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^udsbus: cannot read .*none: ENOENT\n$/);
  const both = await runCli(['pub', 'file.x', 'data', '-f', file, '-s', bus.path]);
  assert.equal(both.code, 2);
});

void test('req reads its body from stdin or a file', async () => {
  const r = new Proc(['reply', 'body.echo', '--echo', '-s', bus.path]);
  await r.stderrHas('serving body.echo');
  const fromStdin = await withInput(['req', 'body.echo', '-s', bus.path], Buffer.from('a\nb\n'));
  assert.equal(fromStdin.child.exitCode, 0, fromStdin.stderr);
  assert.equal(fromStdin.stdout, 'a\nb\n');
  const file = join(bus.dir, 'req.txt');
  writeFileSync(file, 'from a file');
  const fromFile = await runCli(['request', 'body.echo', '-f', file, '-s', bus.path]);
  assert.equal(fromFile.code, 0, fromFile.stderr);
  assert.equal(fromFile.stdout, 'from a file\n');
  r.kill('SIGINT');
  assert.equal(await r.exit(), 0);
});

void test("a responder's failure is the responder's error; reply --count 1 ends after an error reply", async () => {
  const r = new Proc([
    'reply',
    'fail.x',
    '--exec',
    'echo boom >&2; exit 3',
    '--count',
    '1',
    '-s',
    bus.path,
  ]);
  await r.stderrHas('serving fail.x');
  const q = await runCli(['req', 'fail.x', 'x', '-s', bus.path]);
  assert.equal(q.code, 1);
  assert.equal(q.stderr, 'udsbus: responder error: boom\n');
  assert.equal(await r.exit(3000), 0, r.stderr);
});

void test('help: bare udsbus exits 2, help nope exits 2, help CMD and CMD --help exit 0', async () => {
  const bare = await runCli([]);
  assert.equal(bare.code, 2);
  assert.match(bare.stderr, /Usage: udsbus <command>/);
  const nope = await runCli(['help', 'nope']);
  assert.equal(nope.code, 2);
  assert.match(nope.stderr, /unknown command "nope"/);
  for (const args of [['help', 'sub'], ['sub', '--help'], ['help', 'daemon'], ['help']]) {
    const h = await runCli(args);
    assert.equal(h.code, 0, args.join(' '));
    assert.match(h.stdout, /Usage: udsbus/);
  }
});

void test('the daemon says "listening on PATH (udsbus VERSION)"', () => {
  const version = (
    JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    }
  ).version;
  assert.ok(
    bus.proc.stderr.startsWith(`udsbus: listening on ${bus.path} (udsbus ${version})\n`),
    bus.proc.stderr,
  );
});

void test('a SIGTERM sent the moment the start line appears still stops the daemon cleanly', async () => {
  for (let i = 0; i < 3; i++) {
    const d = new DaemonProc(join(bus.dir, `quick-${i}.bus.path`));
    await d.stderrHas('listening on');
    d.kill('SIGTERM');
    assert.equal(await d.exit(), 0, d.stderr);
    assert.match(d.stderr, /udsbus: stopped\n$/);
  }
});

void test('status escapes a hostile client name in text and in JSON', async () => {
  {
    const evil = await connect({
      path: bus.path,
      reconnect: false,
      name: 'evil\u001b[2J\u009b31m\u202e',
    });
    try {
      for (const args of [['status'], ['status', '--json']]) {
        const r = await runCli([...args, '-s', bus.path]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /evil\\u001b\[2J\\u009b31m\\u202e/);
        // eslint-disable-next-line no-control-regex
        assert.doesNotMatch(r.stdout, /[\u001b\u007f-\u009f\u202a-\u202e]/u);
      }
    } finally {
      await evil.close();
    }
  }
});
