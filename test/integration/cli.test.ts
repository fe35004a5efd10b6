// The issue-2 acceptance flows through the real CLI against a real daemon process.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Proc, daemonPerFile, runCli } from '../helpers/processes.js';

const bus = daemonPerFile();

function sub(args: string[]): Promise<Proc> {
  const p = new Proc(['sub', '-s', bus.path, ...args]);
  return p.stderrHas('subscribed to').then(() => p);
}

void test('sub demo.* --count 3 receives the three stdin lines of pub, in order', async () => {
  const s = await sub(['demo.*', '--count', '3']);
  const pub = await runCli(['pub', 'demo.x', '-s', bus.path], { input: 'a\nb\nc\n' });
  assert.equal(pub.code, 0, pub.stderr);
  assert.equal(await s.exit(), 0, s.stderr);
  assert.equal(s.stdout, 'a\nb\nc\n');
});

void test('a > wildcard receives deeper subjects, and not the bare prefix', async () => {
  const s = await sub(['demo.>', '--count', '2']);
  for (const subject of ['demo', 'demo.x.y', 'other.x', 'demo.z']) {
    const r = await runCli(['pub', subject, subject, '-s', bus.path]);
    assert.equal(r.code, 0, r.stderr);
  }
  assert.equal(await s.exit(), 0, s.stderr);
  assert.equal(s.stdout, 'demo.x.y\ndemo.z\n');
});

void test('a queue group delivers each message to exactly one of two members', async () => {
  const w1 = await sub(['jobs.*', '--queue', 'w', '--json']);
  const w2 = await sub(['jobs.*', '--queue', 'w', '--json']);
  const lines = Array.from({ length: 20 }, (_, i) => `job-${i}`);
  const pub = await runCli(['pub', 'jobs.new', '-s', bus.path], { input: lines.join('\n') + '\n' });
  assert.equal(pub.code, 0, pub.stderr);
  const count = (p: Proc): number => p.stdout.split('\n').filter(Boolean).length;
  await w1.waitFor(() => count(w1) + count(w2) === 20, '20 messages across the group');
  w1.kill('SIGINT');
  w2.kill('SIGINT');
  assert.equal(await w1.exit(), 0);
  assert.equal(await w2.exit(), 0);
  const got = [w1, w2].flatMap((p) =>
    p.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { data: string }).data),
  );
  assert.deepEqual([...got].sort(), [...lines].sort(), 'every job exactly once');
  assert.ok(count(w1) > 0 && count(w2) > 0, 'both members got work');
});

void test('sub --json prints subject, data, from and id', async () => {
  const s = await sub(['json.x', '--count', '1', '--json']);
  const r = await runCli(['pub', 'json.x', 'payload', '-s', bus.path]);
  assert.equal(r.code, 0);
  assert.equal(await s.exit(), 0);
  const msg = JSON.parse(s.stdout) as Record<string, unknown>;
  assert.equal(msg['subject'], 'json.x');
  assert.equal(msg['data'], 'payload');
  assert.equal(typeof msg['from'], 'number');
  assert.equal(typeof msg['id'], 'number');
});

void test('reply --echo answers req, which prints the payload', async () => {
  const r = new Proc(['reply', 'svc.echo', '--echo', '-s', bus.path]);
  await r.stderrHas('serving svc.echo');
  const q = await runCli(['req', 'svc.echo', 'hi', '-s', bus.path]);
  r.kill('SIGINT');
  await r.exit();
  assert.equal(q.code, 0, q.stderr);
  assert.equal(q.stdout, 'hi\n');
});

void test('reply --exec runs the command with the request on stdin; a failing command becomes an error reply', async () => {
  const r = new Proc(['reply', 'svc.upper', '--exec', 'tr a-z A-Z', '-s', bus.path]);
  await r.stderrHas('serving svc.upper');
  const q = await runCli(['req', 'svc.upper', 'shout', '-s', bus.path]);
  assert.equal(q.code, 0, q.stderr);
  assert.equal(q.stdout, 'SHOUT\n');
  r.kill('SIGINT');
  await r.exit();
  const bad = new Proc(['reply', 'svc.fail', '--exec', 'echo broken >&2; exit 3', '-s', bus.path]);
  await bad.stderrHas('serving svc.fail');
  const f = await runCli(['req', 'svc.fail', 'x', '-s', bus.path]);
  bad.kill('SIGINT');
  await bad.exit();
  assert.equal(f.code, 1);
  assert.match(f.stderr, /broken/);
});

void test('req to a subject with no responders exits 1 at once, saying so', async () => {
  // Node's own start-up time on this machine, measured now, is the baseline.
  const base = await runCli(['--version']);
  const r = await runCli(['req', 'nobody.home', 'x', '-s', bus.path]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no responders for nobody\.home/);
  assert.equal(r.stderr.trim().split('\n').length, 1, 'one line on stderr');
  assert.ok(r.ms - base.ms < 100 + 50, `took ${r.ms} ms against a ${base.ms} ms start-up baseline`);
});

void test('listen prints its client id first; send and broadcast reach it', async () => {
  const l = new Proc(['listen', '--count', '2', '-s', bus.path]);
  await l.waitFor((p) => /^client id \d+\n/.test(p.stderr), 'client id line');
  const id = /^client id (\d+)/.exec(l.stderr)![1]!;
  const s = await runCli(['send', id, 'direct hello', '-s', bus.path]);
  assert.equal(s.code, 0, s.stderr);
  const b = await runCli(['broadcast', 'to everyone', '-s', bus.path]);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(await l.exit(), 0);
  assert.equal(l.stdout, 'direct hello\nto everyone\n');
});

void test('send to an unknown client id exits 1 with a clear message', async () => {
  const r = await runCli(['send', '999999', 'x', '-s', bus.path]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no client with id 999999/);
});

void test('status lists clients and subjects; --json is machine-readable', async () => {
  const s = await sub(['status.probe.*']);
  const text = await runCli(['status', '-s', bus.path]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /udsbus \d+\.\d+\.\d+ \(protocol 1\)/);
  assert.match(text.stdout, /status\.probe\.\*\s+1\s+0/);
  assert.match(text.stdout, /udsbus sub/);
  const json = await runCli(['status', '--json', '-s', bus.path]);
  const st = JSON.parse(json.stdout) as {
    version: string;
    uptimeMs: number;
    clients: {
      id: number;
      name: string;
      pid: number;
      subscriptions: number;
      queuedBytes: number;
    }[];
    subjects: { subject: string; subscribers: number }[];
  };
  assert.ok(st.uptimeMs > 0);
  const me = st.clients.find((c) => c.name === 'udsbus sub' && c.pid === s.child.pid);
  assert.ok(me !== undefined, 'the sub process is listed with its pid');
  assert.equal(me.subscriptions, 1);
  assert.equal(typeof me.queuedBytes, 'number');
  assert.deepEqual(
    st.subjects.find((x) => x.subject === 'status.probe.*'),
    { subject: 'status.probe.*', subscribers: 1, responders: 0 },
  );
  s.kill('SIGINT');
  await s.exit();
});

void test('usage errors exit 2, failures exit 1, --help exits 0', async () => {
  assert.equal((await runCli(['pub'])).code, 2);
  assert.equal((await runCli(['sub', 'x', '--count', 'many'])).code, 2);
  assert.equal((await runCli(['frobnicate'])).code, 2);
  assert.equal((await runCli(['reply', 'x'])).code, 2);
  for (const cmd of [
    'pub',
    'sub',
    'req',
    'reply',
    'send',
    'broadcast',
    'listen',
    'status',
    'daemon',
  ]) {
    const h = await runCli([cmd, '--help']);
    assert.equal(h.code, 0, cmd);
    assert.match(h.stdout, /Usage: udsbus/, cmd);
    assert.match(h.stdout, /--socket PATH/, cmd);
  }
  const bad = await runCli(['pub', 'bad subject', 'x', '-s', bus.path]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /contains a space/);
  const nodaemon = await runCli(['status', '-s', join(bus.dir, 'none.sock')]);
  assert.equal(nodaemon.code, 1);
  assert.match(nodaemon.stderr, /no udsbus daemon at/);
  assert.equal(nodaemon.stderr.trim().split('\n').length, 1);
});
