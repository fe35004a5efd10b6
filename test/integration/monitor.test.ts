// Monitors with a real daemon: copies of publishes (with how many got them), requests and their
// replies (status, latency), direct messages and broadcasts, each with the sender's kernel uid and
// pid; delivery unaffected; the CLI prints them; another uid may not monitor by default.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect, type Msg } from '../../src/client/index.js';
import {
  DaemonProc,
  Proc,
  daemonPerFile,
  hasCommand,
  runCli,
  tempDir,
} from '../helpers/processes.js';

const bus = daemonPerFile();
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

void test('a monitor sees publishes, requests, replies, direct messages and broadcasts; delivery goes on', async () => {
  const open = (name: string): ReturnType<typeof connect> =>
    connect({ path: bus.path, reconnect: false, name });
  const [mon, a, b] = await Promise.all([open('mon'), open('a'), open('b')]);
  const seen: Msg[] = [];
  mon.subscribe('>', (m) => void seen.push(m), { monitor: true });
  const got: string[] = [];
  b.subscribe('news.*', (m) => void got.push(text(m.data)));
  b.serve('svc.upper', (m) => text(m.data).toUpperCase());
  b.onDirect((m) => void got.push(`direct:${text(m.data)}`));
  await Promise.all([mon.flush(), b.flush()]);
  a.publish('news.x', 'hello', { headers: { k: 'v' } });
  a.publish('quiet.x', 'nobody listens');
  assert.equal(text((await a.request('svc.upper', 'abc')).data), 'ABC');
  a.send(b.id, 'psst');
  await a.flush();
  await new Promise((r) => setTimeout(r, 100));
  await mon.flush();
  assert.deepEqual(got, ['hello', 'direct:psst']);
  const rows = seen
    .filter((m) => !m.subject.startsWith('$SYS'))
    .map((m) => [m.headers?.['mon-kind'], m.subject, m.from, m.headers?.['mon-to'], text(m.data)]);
  assert.deepEqual(rows, [
    ['pub', 'news.x', a.id, '1', 'hello'],
    ['pub', 'quiet.x', a.id, '0', 'nobody listens'],
    ['req', 'svc.upper', a.id, String(b.id), 'abc'],
    ['reply', 'svc.upper', b.id, String(a.id), 'ABC'],
    ['direct', '', a.id, String(b.id), 'psst'],
  ]);
  const pub = seen.find((m) => m.subject === 'news.x')!;
  assert.equal(pub.headers?.['k'], 'v', "the message's own headers are kept");
  assert.deepEqual([pub.uid, pub.pid], [process.getuid!(), process.pid]);
  const reply = seen.find((m) => m.headers?.['mon-kind'] === 'reply')!;
  assert.equal(reply.headers?.['mon-status'], 'ok');
  assert.ok(Number(reply.headers?.['mon-latency-us']) >= 0);
  assert.equal(
    reply.headers?.['mon-req'],
    seen.find((m) => m.headers?.['mon-kind'] === 'req')!.headers?.['mon-req'],
  );
  await Promise.all([mon.close(), a.close(), b.close()]);
});

void test('udsbus monitor prints what passes, as text and as JSON', async () => {
  const m = new Proc(['monitor', 'demo.>', '--json', '--count', '2', '-s', bus.path]);
  await m.stderrHas('monitoring demo.>');
  await runCli(['pub', 'demo.a', 'one', '-s', bus.path]);
  await runCli(['pub', 'other.b', 'not shown', '-s', bus.path]);
  await runCli(['pub', 'demo.b', 'two', '-s', bus.path]);
  assert.equal(await m.exit(5000), 0, m.stderr);
  const lines = m.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    lines.map((l) => [l['kind'], l['subject'], l['to'], l['data']]),
    [
      ['pub', 'demo.a', '0', 'one'],
      ['pub', 'demo.b', '0', 'two'],
    ],
  );
  assert.equal(lines[0]!['uid'], process.getuid!());
  const t = new Proc(['monitor', '--count', '1', '-s', bus.path]);
  await t.stderrHas('monitoring >');
  await runCli(['broadcast', 'hi all', '-s', bus.path]);
  assert.equal(await t.exit(5000), 0, t.stderr);
  assert.match(t.stdout, /^broadcast - from=\d+ uid=\d+ pid=\d+ to=all hi all\n$/);
});

const canSwitch = process.getuid?.() === 0 && hasCommand('setpriv');

void test(
  'another uid may not monitor without a rule that allows it',
  { skip: canSwitch ? false : 'needs root and setpriv' },
  async () => {
    const tmp = tempDir();
    chmodSync(tmp.dir, 0o755);
    const d = await DaemonProc.start(join(tmp.dir, 'bus.sock'), ['--socket-mode', '0666']);
    try {
      const bin = new URL('../../../bin/udsbus.js', import.meta.url).pathname;
      const r = spawnSync(
        'setpriv',
        [
          '--reuid=65534',
          '--regid=65534',
          '--clear-groups',
          process.execPath,
          bin,
          'monitor',
          '-s',
          d.path,
        ],
        { encoding: 'utf8', timeout: 10_000 },
      );
      assert.equal(r.status, 1, r.stderr);
      assert.match(
        r.stderr,
        /monitor >: denied by the access policy \(only the daemon's own uid and root may monitor/,
      );
    } finally {
      await d.stop();
      tmp.cleanup();
    }
  },
);

void test('udsbus check: OK and exit 0 with a daemon, DOWN and exit 2 without', async () => {
  const ok = await runCli([
    'check',
    '--max-drops-per-min',
    '1000',
    '--interval',
    '100',
    '-s',
    bus.path,
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(
    ok.stdout,
    /^OK: udsbus \S+, up \d+ s, \d+ clients, \d+ dropped in all, \d+ drops\/min, largest queue \d+ bytes\n$/,
  );
  const tmp = tempDir();
  const down = await runCli(['check', '-s', join(tmp.dir, 'none.sock')]);
  assert.equal(down.code, 2);
  assert.match(down.stdout, /^DOWN: no udsbus daemon at .*none\.sock/);
  tmp.cleanup();
});

void test('udsbus top: a table per refresh when stdout is not a terminal; on a terminal, b sorts and q quits', async () => {
  const plain = await runCli(['top', '--count', '2', '--interval', '100', '-s', bus.path]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(
    plain.stdout.match(/^ID +NAME +UID +PID +IN\/S +OUT\/S +QUEUED +DROPPED +SUBS$/gm)?.length,
    2,
  );
  assert.match(plain.stdout, /^\d+ +udsbus top +\d+ +\d+ /m);
  if (!hasCommand('script')) return; // util-linux's script gives top a terminal
  const bin = new URL('../../../bin/udsbus.js', import.meta.url).pathname;
  const tty = spawnSync(
    '/bin/sh',
    [
      '-c',
      `(sleep 1; printf b; sleep 0.5; printf q) | script -qfc "${process.execPath} ${bin} top -s ${bus.path}" /dev/null`,
    ],
    { encoding: 'utf8', timeout: 10_000 },
  );
  assert.equal(tty.status, 0, tty.stderr);
  assert.match(tty.stdout, /sorted by queue/);
  assert.ok(tty.stdout.includes('\u001b[?1049l'), 'the screen is restored');
});
