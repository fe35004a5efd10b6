// The access policy with a client run as another uid (setpriv --reuid=65534): the default
// per-user policy refuses it entirely; deny rules refuse its publish, subscribe and serve with
// BUS_ERR_PERMISSION (naming the operation and subject) while other subjects go through; a later
// allow rule lets it through; status counts the denials; SIGHUP applies a new policy and keeps
// the old one when the file is invalid; --check-config names bad keys.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect, type Msg } from '../../src/client/index.js';
import { DaemonProc, hasCommand, runCli, tempDir } from '../helpers/processes.js';

const canSwitch = process.getuid?.() === 0 && hasCommand('setpriv');
const skip = canSwitch ? false : 'needs root and setpriv';
const CLIENT = new URL('../../src/client/index.js', import.meta.url).href;

/** Runs `body` (an async function of `c`, a connected client) as uid 65534; returns its JSON. */
function asNobody(path: string, body: string): Record<string, unknown> {
  const script = `
    import(${JSON.stringify(CLIENT)}).then(async ({ connect }) => {
      const out = {};
      let c;
      try {
        c = await connect({ path: ${JSON.stringify(path)}, reconnect: false, name: 'nobody' });
      } catch (e) {
        process.stdout.write(JSON.stringify({ connectError: e.code, message: e.message }));
        return;
      }
      const errors = [];
      c.on('error', (e) => errors.push({ code: e.code, message: e.message }));
      const refused = async (p) => { try { await p; return null; } catch (e) { return { code: e.code, message: e.message }; } };
      await (${body})(c, out, refused);
      await c.flush();
      await new Promise((r) => setTimeout(r, 100));
      out.errors = errors;
      process.stdout.write(JSON.stringify(out));
      await c.close();
    });`;
  const r = spawnSync(
    'setpriv',
    ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script],
    { encoding: 'utf8', timeout: 15_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

void test('the default per-user policy refuses another uid entirely', { skip }, async () => {
  // An abstract socket has no file mode: only the policy keeps other users out.
  const name = `@udsbus-policy-${process.pid}-${Date.now()}`;
  const d = await DaemonProc.start(name);
  try {
    const out = asNobody(name, 'async () => {}');
    assert.equal(out['connectError'], 'BUS_ERR_PERMISSION');
    assert.match(
      out['message'] as string,
      /connect: denied by the access policy for uid 65534 \(by default only the daemon's own uid may connect/,
    );
    // The owner still gets in, and status counts the refusal.
    const me = await connect({ path: name, reconnect: false });
    const st = await me.status();
    assert.equal(st.totals.denied, 1);
    assert.deepEqual(st.totals.deniedByVerb, { connect: 1 });
    await me.close();
  } finally {
    await d.stop();
  }
});

void test(
  'deny rules refuse publish, subscribe and serve with BUS_ERR_PERMISSION; a later allow lets through',
  { skip },
  async () => {
    const tmp = tempDir();
    chmodSync(tmp.dir, 0o755);
    const config = join(tmp.dir, 'bus.toml');
    writeFileSync(
      config,
      `[daemon]
socket-mode = "0666"

[[policy.rule]]
uid = 65534
deny = ["publish", "subscribe"]
subjects = ["secret.>"]

[[policy.rule]]
uid = 65534
allow = ["publish"]
subjects = ["secret.public"]

[[policy.rule]]
user = "nobody"
deny = ["serve"]
subjects = [">"]

[[policy.rule]]
uid = 65534
allow = ["serve"]
subjects = ["nobody.>"]
`,
    );
    const d = await DaemonProc.start(join(tmp.dir, 'bus.sock'), ['--config', config]);
    try {
      const me = await connect({ path: d.path, reconnect: false });
      const got: Msg[] = [];
      me.subscribe('>', (m) => void got.push(m));
      await me.flush();
      const out = asNobody(
        d.path,
        `async (c, out, refused) => {
          c.publish('secret.x', 'no');
          c.publish('ok.x', 'yes');
          c.publish('secret.public', 'allowed');
          const s1 = c.subscribe('secret.y');
          const s2 = c.subscribe('>');
          const s3 = c.subscribe('news.>');
          out.subs = await Promise.all([s1, s2, s3].map((s) => new Promise((r) => {
            s.once('error', (e) => r(e.code));
            c.flush().then(() => setTimeout(() => r('ok'), 50));
          })));
          const v1 = c.serve('>', () => 'stolen');
          const v2 = c.serve('nobody.svc', () => 'mine');
          out.serves = await Promise.all([v1, v2].map((s) => new Promise((r) => {
            s.once('error', (e) => r(e.code));
            c.flush().then(() => setTimeout(() => r('ok'), 50));
          })));
        }`,
      );
      assert.deepEqual(out['subs'], ['BUS_ERR_PERMISSION', 'BUS_ERR_PERMISSION', 'ok']);
      assert.deepEqual(out['serves'], ['BUS_ERR_PERMISSION', 'ok']);
      const errors = out['errors'] as { code: string; message: string }[];
      const pubDenied = errors.filter((e) => /^publish /.test(e.message));
      assert.equal(pubDenied.length, 1, JSON.stringify(errors));
      assert.equal(pubDenied[0]!.code, 'BUS_ERR_PERMISSION');
      assert.match(
        pubDenied[0]!.message,
        /^publish secret\.x: denied by the access policy \(rule 1\)/,
      );
      await me.flush();
      await new Promise((r) => setTimeout(r, 100));
      const delivered = got
        .filter((m) => !m.subject.startsWith('$'))
        .map((m) => [m.subject, m.uid]);
      assert.deepEqual(delivered, [
        ['ok.x', 65534],
        ['secret.public', 65534],
      ]);
      const st = await me.status();
      assert.equal(st.totals.denied, 4);
      assert.deepEqual(st.totals.deniedByVerb, { publish: 1, subscribe: 2, serve: 1 });
      await me.close();
    } finally {
      await d.stop();
      tmp.cleanup();
    }
  },
);

void test(
  'serve(">") cannot take requests of a service the policy does not let it serve; request denials are REPLYs',
  { skip },
  async () => {
    const tmp = tempDir();
    chmodSync(tmp.dir, 0o755);
    const config = join(tmp.dir, 'bus.toml');
    writeFileSync(
      config,
      `[policy]
connect = "anyone"

[[policy.rule]]
anyone = true
deny = ["serve"]
subjects = ["billing.>"]

[[policy.rule]]
uid = 0
allow = ["serve"]
subjects = ["billing.>"]

[[policy.rule]]
uid = 65534
deny = ["request"]
subjects = ["admin.>"]
`,
    );
    const d = await DaemonProc.start(join(tmp.dir, 'bus.sock'), [
      '--config',
      config,
      '--socket-mode',
      '0666',
    ]);
    try {
      const billing = await connect({ path: d.path, reconnect: false });
      billing.serve('billing.>', () => 'billing answered');
      billing.serve('admin.>', () => 'admin answered');
      await billing.flush();
      const out = asNobody(
        d.path,
        `async (c, out, refused) => {
          const thief = c.serve('>', () => 'stolen');
          out.thief = await new Promise((r) => { thief.once('error', (e) => r(e.code)); c.flush().then(() => setTimeout(() => r('ok'), 50)); });
          out.admin = await refused(c.request('admin.reset', 'x', { timeoutMs: 2000 }));
        }`,
      );
      assert.equal(out['thief'], 'BUS_ERR_PERMISSION');
      const admin = out['admin'] as { code: string; message: string };
      assert.equal(admin.code, 'BUS_ERR_PERMISSION');
      assert.match(admin.message, /request admin\.reset: denied by the access policy \(rule 3\)/);
      const r = await billing.request('billing.invoice', 'q');
      assert.equal(new TextDecoder().decode(r.data), 'billing answered');
      await billing.close();
    } finally {
      await d.stop();
      tmp.cleanup();
    }
  },
);

void test(
  'SIGHUP applies a new policy; an invalid file keeps the old one and says why',
  { skip },
  async () => {
    const tmp = tempDir();
    chmodSync(tmp.dir, 0o755);
    const config = join(tmp.dir, 'bus.toml');
    writeFileSync(config, '[daemon]\nsocket-mode = "0666"\n');
    const d = await DaemonProc.start(join(tmp.dir, 'bus.sock'), ['--config', config]);
    try {
      const publishes = (): unknown =>
        (asNobody(d.path, `async (c) => { c.publish('x.y', 'z'); }`)['errors'] as unknown[]).length;
      assert.equal(publishes(), 0);
      writeFileSync(
        config,
        '[daemon]\nsocket-mode = "0666"\nmax-frame = 4096\n[[policy.rule]]\nuid = 65534\ndeny = ["publish"]\n',
      );
      d.kill('SIGHUP');
      await d.stderrHas('access policy applied (1 rules); needs a restart to apply: maxFrame');
      assert.equal(publishes(), 1);
      writeFileSync(config, '[[policy.rule]]\nuid = 65534\ndeny = ["publsh"]\n');
      d.kill('SIGHUP');
      await d.stderrHas('not applied, the running config stays');
      assert.match(d.stderr, /unknown verb "publsh"/);
      assert.equal(publishes(), 1, 'the old policy is still in force');
    } finally {
      await d.stop();
      tmp.cleanup();
    }
  },
);

void test('an invalid config is named key by key; the daemon does not start with it', async () => {
  const tmp = tempDir();
  const config = join(tmp.dir, 'bad.toml');
  writeFileSync(
    config,
    '[daemon]\nmax-frame = "big"\nwhat = 1\n[[policy.rule]]\nuid = "x"\nallow = ["publish"]\n',
  );
  const check = await runCli(['daemon', '--check-config', config]);
  assert.equal(check.code, 1);
  assert.match(check.stderr, /daemon\.max-frame: expected a non-negative integer, got "big"/);
  assert.match(check.stderr, /daemon\.what: unknown option/);
  assert.match(check.stderr, /policy\.rule\[1\]\.uid: expected an id or an array of ids/);
  const start = await runCli(['daemon', '-s', join(tmp.dir, 'bus.sock'), '--config', config]);
  assert.equal(start.code, 2);
  assert.match(start.stderr, /config: daemon\.max-frame/);
  writeFileSync(config, '[daemon]\nmax-frame = 4096\n');
  const ok = await runCli(['daemon', '--check-config', config]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /ok \(1 daemon options, 0 policy rules, 0 preloaded values\)/);
  // [[preload]]: values set at start when their key has none.
  writeFileSync(
    config,
    '[[preload]]\nkey = "mixer.volume"\nvalue = "0.5"\n[[preload]]\nkey = "bad..key"\nvalue = "x"\n',
  );
  const bad = await runCli(['daemon', '--check-config', config]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /preload\[2\]\.key: .*empty token/);
  writeFileSync(config, '[[preload]]\nkey = "mixer.volume"\nvalue = "0.5"\n');
  const d = await DaemonProc.start(join(tmp.dir, 'bus.sock'), ['--config', config]);
  try {
    const got = await runCli(['get', 'mixer.volume', '-s', d.path]);
    assert.equal(got.stdout, '0.5\n');
  } finally {
    await d.stop();
  }
  tmp.cleanup();
});
