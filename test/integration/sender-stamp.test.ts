// The sender's uid and pid on delivered messages are the kernel's (SO_PEERCRED at accept),
// stamped by the daemon: a client run as another uid (setpriv) is seen with that uid and its own
// pid on what it publishes, requests, sends and answers, whatever it claims in its HELLO; and
// `udsbus sub --json` prints them.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync } from 'node:fs';
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
