// Text mode with real socat: `echo`, a `sub` in one socat session receiving a `pub` from another
// socat session and from the CLI, `-ERR` for a bad line while the session goes on, escapes both
// ways, requests, limits (a line longer than maxFrame), and a session that never reads.

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { test } from 'node:test';
import { connect } from '../../src/client/index.js';
import { daemonPerFile, requireCommand, runCli } from '../helpers/processes.js';

const socat = requireCommand('socat');
const skip = socat === true ? false : socat;
const bus = daemonPerFile(['--max-frame', '65536']);

/** One socat session: write lines, wait for output lines. */
class Session {
  readonly child: ChildProcessWithoutNullStreams;
  out = '';
  constructor(path: string) {
    this.child = spawn('socat', ['-', `UNIX-CONNECT:${path}`]);
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (c: string) => (this.out += c));
  }
  send(text: string): void {
    this.child.stdin.write(text);
  }
  /** Waits until the output holds `n` lines; returns them. */
  async lines(n: number, timeoutMs = 5000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.out.split('\n').length - 1 < n) {
      if (Date.now() > deadline) throw new Error(`timed out; output so far: ${this.out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.out.split('\n').slice(0, n);
  }
  close(): Promise<void> {
    this.child.stdin.end();
    return new Promise((r) => {
      if (this.child.exitCode !== null) r();
      else this.child.on('exit', () => r());
    });
  }
}

/** One socat run without blocking this process (its library clients must keep working). */
function run(path: string, input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('socat', ['-t', '5', '-', `UNIX-CONNECT:${path}`]);
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (c: string) => (out += c));
    const timer = setTimeout(() => child.kill(), 8000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`socat exited ${code}; output: ${out}`));
    });
    child.stdin.end(input);
  });
}

function once(path: string, input: string): string {
  const r = spawnSync('socat', ['-t', '2', '-', `UNIX-CONNECT:${path}`], {
    input,
    encoding: 'utf8',
    timeout: 5000,
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

void test("printf 'echo hello\\n' | socat prints hello", { skip }, () => {
  assert.equal(once(bus.path, 'echo hello\n'), 'hello\n');
});

void test(
  'a sub in one socat session receives a pub from another session and from the CLI',
  { skip },
  async () => {
    const sub = new Session(bus.path);
    sub.send('sub news.>\n');
    assert.deepEqual(await sub.lines(1), ['+OK 1']);
    const pub = new Session(bus.path);
    pub.send('pub news.a hello from socat\n');
    assert.deepEqual(await pub.lines(1), ['+OK']);
    const cli = await runCli(['pub', 'news.b', 'hello from the CLI', '-s', bus.path]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.deepEqual((await sub.lines(3)).slice(1), [
      'MSG news.a hello from socat',
      'MSG news.b hello from the CLI',
    ]);
    // And a library subscriber gets what a socat session publishes, bytes unescaped.
    const c = await connect({ path: bus.path, reconnect: false });
    const got = new Promise<Uint8Array>((r) => c.subscribe('raw.x', (m) => r(m.data.slice())));
    await c.flush();
    pub.send('pub raw.x a\\nb\\x00\\xff\\\\\n');
    assert.deepEqual([...(await got)], [0x61, 0x0a, 0x62, 0x00, 0xff, 0x5c]);
    // The other way: a binary payload is escaped on the MSG line.
    c.publish('news.bin', Uint8Array.from([0x68, 0x0a, 0x1b, 0xff, 0x5c]));
    await c.flush();
    assert.equal((await sub.lines(4))[3], 'MSG news.bin h\\n\\x1b\\xff\\\\');
    await c.close();
    await Promise.all([sub.close(), pub.close()]);
  },
);

void test('an invalid line gets -ERR and the session goes on', { skip }, () => {
  const out = once(
    bus.path,
    [
      'frobnicate x',
      'pub bad..subject x',
      'pub $SYS.x y',
      'echo bad \\q escape',
      'unsub nothing.here',
      'echo still here',
      '',
    ].join('\n'),
  );
  const lines = out.split('\n');
  assert.match(lines[0]!, /^-ERR BUS_ERR_UNKNOWN_OP unknown command "frobnicate"/);
  assert.match(lines[1]!, /^-ERR BUS_ERR_BAD_SUBJECT .*empty token/);
  assert.match(lines[2]!, /^-ERR BUS_ERR_PERMISSION only the daemon publishes on \$SYS\.x/);
  assert.match(lines[3]!, /^-ERR BUS_ERR_PROTOCOL unknown escape \\\\q/);
  assert.match(lines[4]!, /^-ERR BUS_ERR_PROTOCOL unsub: no subscription/);
  assert.equal(lines[5], 'still here');
});

void test(
  'req gets REPLY from a library responder, -ERR without one; status; quit',
  { skip },
  async () => {
    const c = await connect({ path: bus.path, reconnect: false });
    c.serve('svc.upper', (m) => new TextDecoder().decode(m.data).toUpperCase());
    await c.flush();
    // A REPLY line comes when the responder answers: after the answers to later commands.
    const out = await run(bus.path, 'req svc.upper shout\nstatus\n');
    const [status, reply] = out.split('\n');
    assert.match(status!, /^\+OK \{/);
    const s = JSON.parse(status!.slice(4)) as { clients: { name: string }[] };
    assert.ok(s.clients.some((x) => x.name === 'text'));
    assert.equal(reply, 'REPLY SHOUT');
    const lines = (await run(bus.path, 'req svc.none x\nquit\necho not run\n')).split('\n');
    assert.match(lines[0]!, /^-ERR BUS_ERR_NO_RESPONDERS/);
    assert.equal(lines[1], '+OK bye');
    assert.equal(lines.length, 3, 'nothing after quit');
    await c.close();
  },
);

void test(
  'a line longer than maxFrame ends the session with -ERR BUS_ERR_FRAME_TOO_LARGE',
  { skip },
  () => {
    const out = once(bus.path, `pub big.x ${'y'.repeat(70_000)}\necho after\n`);
    assert.match(out, /^-ERR BUS_ERR_FRAME_TOO_LARGE a text line is longer than 65536 bytes/);
    assert.doesNotMatch(out, /after/);
  },
);

void test('a help line lists the commands', { skip }, () => {
  const out = once(bus.path, 'help\n');
  for (const cmd of ['echo', 'pub', 'sub', 'unsub', 'req', 'status', 'quit']) {
    assert.match(out, new RegExp(`^${cmd} `, 'm'));
  }
  assert.match(out, /\+OK\n$/);
});

void test(
  'the end of input closes the session once every request is answered',
  { skip },
  async () => {
    const c = await connect({ path: bus.path, reconnect: false });
    c.serve('svc.slow', async (m) => {
      await new Promise((r) => setTimeout(r, 300));
      return m.data;
    });
    await c.flush();
    // socat half-closes after the last line; the reply comes 300 ms later and still arrives, and
    // a last line without a newline counts.
    const started = Date.now();
    const out = await run(bus.path, 'req svc.slow one\nreq svc.slow two\necho last');
    assert.deepEqual(out.split('\n').sort(), ['', 'REPLY one', 'REPLY two', 'last']);
    assert.ok(Date.now() - started < 4000, 'closed by the daemon, not by socat -t');
    await c.close();
  },
);

void test(
  'shared state from text mode: set, get, watch (current value first, then changes from the CLI), del',
  { skip },
  async () => {
    assert.match(once(bus.path, 'set tm.vol 0.2\n'), /^\+OK \d+\n$/);
    const got = once(bus.path, 'get tm.vol\nget tm.none\n').split('\n');
    assert.match(got[0]!, /^VALUE tm\.vol \d+ 0\.2$/);
    assert.match(got[1]!, /^-ERR BUS_ERR_NOT_FOUND state\.get tm\.none: no such key/);
    const w = new Session(bus.path);
    w.send('watch tm.*\n');
    const [ok, cur] = await w.lines(2);
    assert.match(ok!, /^\+OK \d+$/);
    assert.match(cur!, /^STATE cur tm\.vol \d+ 0\.2$/);
    const cli = await runCli(['set', 'tm.vol', '0.5', '-s', bus.path]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match((await w.lines(3))[2]!, /^STATE set tm\.vol \d+ 0\.5$/);
    assert.match(once(bus.path, 'del tm.vol\n'), /^\+OK \d+\n$/);
    assert.match((await w.lines(4))[3]!, /^STATE del tm\.vol \d+$/);
    await w.close();
  },
);
