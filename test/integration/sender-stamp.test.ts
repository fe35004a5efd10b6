// The sender's uid and pid on delivered messages are the kernel's (SO_PEERCRED at accept),
// stamped by the daemon: a client run as another uid (setpriv) is seen with that uid and its own
// pid on what it publishes, requests, sends and answers, whatever it claims in its HELLO; and
// `udsbus sub --json` prints them.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect, type Msg } from '../../src/client/index.js';
import { DaemonProc, Proc, hasCommand, tempDir } from '../helpers/processes.js';

const CLIENT = new URL('../../src/client/index.js', import.meta.url).href;

void test('a message carries the uid and pid of the process that sent it', async () => {
  const tmp = tempDir();
  const d = await DaemonProc.start(join(tmp.dir, 'bus.sock'));
  try {
    const sub = await connect({ path: d.path, reconnect: false });
    const got = new Promise<Msg>((resolve) => sub.subscribe('me.x', (m) => resolve(m)));
    await sub.flush();
    const pub = await connect({ path: d.path, reconnect: false });
    pub.publish('me.x', 'hi');
    const m = await got;
    assert.equal(m.uid, process.getuid!());
    assert.equal(m.pid, process.pid);
    assert.equal(m.from, pub.id);
    // A reply carries the responder's.
    sub.serve('me.svc', () => 'ok');
    await sub.flush();
    const r = await pub.request('me.svc', 'q');
    assert.deepEqual([r.from, r.uid, r.pid], [sub.id, process.getuid!(), process.pid]);
    // The daemon's own replies carry the daemon's pid.
    await assert.rejects(pub.request('nobody.home', 'q'));
    await Promise.all([sub.close(), pub.close()]);
  } finally {
    await d.stop();
    tmp.cleanup();
  }
});

const canSwitch = process.getuid?.() === 0 && hasCommand('setpriv');

void test(
  'as another uid (setpriv): the kernel uid and pid on its publish, request, direct message and reply; sub --json prints them',
  { skip: canSwitch ? false : 'needs root and setpriv' },
  async () => {
    const tmp = tempDir();
    chmodSync(tmp.dir, 0o755);
    const d = await DaemonProc.start(join(tmp.dir, 'bus.sock'), ['--socket-mode', '0666']);
    try {
      const me = await connect({ path: d.path, reconnect: false });
      const msgs: Msg[] = [];
      me.subscribe('who.>', (m) => void msgs.push(m));
      me.onDirect((m) => void msgs.push(m));
      const cli = new Proc(['sub', 'who.>', '--json', '--count', '1', '-s', d.path]);
      await me.flush();
      await new Promise((r) => setTimeout(r, 300)); // the CLI subscriber's SUB
      // The other uid claims to be somebody else in its HELLO (name "root"): names are claims.
      const script = `
        import(${JSON.stringify(CLIENT)}).then(async ({ connect }) => {
          const c = await connect({ path: ${JSON.stringify(d.path)}, reconnect: false, name: 'root' });
          c.serve('who.svc', () => 'from nobody');
          await c.flush();
          c.publish('who.pub', 'p');
          c.send(${me.id}, 'direct');
          await c.flush();
          process.stdout.write('ready\\n');
          await new Promise((r) => process.stdin.once('data', r));
          await c.close();
        });`;
      const child = spawn(
        'setpriv',
        ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script],
        { stdio: ['pipe', 'pipe', 'inherit'] },
      );
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (c: Buffer) => {
          if (c.toString().includes('ready')) resolve();
        });
        child.on('exit', (code) => reject(new Error(`child exited ${code}`)));
      });
      const reply = await me.request('who.svc', 'q');
      await me.flush();
      await new Promise((r) => setTimeout(r, 200));
      const pub = msgs.find((m) => m.subject === 'who.pub');
      const direct = msgs.find((m) => m.subject === '');
      assert.ok(pub !== undefined && direct !== undefined, 'both messages arrived');
      for (const m of [pub, direct]) {
        assert.deepEqual([m.uid, m.pid], [65534, child.pid]);
      }
      assert.deepEqual([reply.uid, reply.pid], [65534, child.pid]);
      assert.equal(new TextDecoder().decode(reply.data), 'from nobody');
      // The CLI prints them.
      await cli.exit(5000);
      const line = JSON.parse(cli.stdout.trim()) as Record<string, unknown>;
      assert.equal(line['subject'], 'who.pub');
      assert.equal(line['uid'], 65534);
      assert.equal(line['pid'], child.pid);
      child.stdin.end('x');
      await me.close();
    } finally {
      await d.stop();
      tmp.cleanup();
    }
  },
);

const PY = '/usr/bin/python3';

void test(
  'a connection whose process had exited before the daemon accepted it carries no pid (SO_PEERPIDFD)',
  { skip: existsSync(PY) ? false : `needs ${PY}` },
  async () => {
    const tmp = tempDir();
    const d = await DaemonProc.start(join(tmp.dir, 'bus.sock'));
    try {
      const me = await connect({ path: d.path, reconnect: false });
      const got = new Promise<Msg>((resolve) => me.subscribe('gone.x', (m) => resolve(m)));
      await me.flush();
      // The daemon is stopped, so the connection waits in its backlog; the process that made it
      // forks a child that keeps the socket, and exits (and is reaped) before the accept.
      d.kill('SIGSTOP');
      const script = `
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
if os.fork() != 0:
    os._exit(0)
time.sleep(0.6)
s.sendall(bytes.fromhex('07015544534201a0'))
subject, data = b'gone.x', b'orphan'
body = bytes([0x10, 0, 0, len(subject)]) + subject + data
s.sendall(bytes([len(body)]) + body)
time.sleep(1.0)
`;
      const parent = spawn(PY, ['-c', script, d.path], { stdio: 'ignore' });
      const parentPid = parent.pid;
      await new Promise((resolve) => parent.on('exit', resolve));
      d.kill('SIGCONT');
      const m = await got;
      assert.equal(new TextDecoder().decode(m.data), 'orphan');
      assert.equal(m.uid, process.getuid!());
      // The kernel has SO_PEERPIDFD from Linux 6.5: the dead parent's pid is not passed on.
      // Without it the daemon cannot tell, and stamps the pid SO_PEERCRED recorded.
      if (kernelAtLeast(6, 5)) assert.equal(m.pid, undefined);
      else assert.equal(m.pid, parentPid);
      await me.close();
    } finally {
      d.kill('SIGCONT');
      await d.stop();
      tmp.cleanup();
    }
  },
);

function kernelAtLeast(major: number, minor: number): boolean {
  const [a, b] = release()
    .split('.')
    .map((x) => parseInt(x, 10));
  return a! > major || (a === major && b! >= minor);
}
