// Service names with real daemons and processes: one owner at a time, a queued claimant takes
// over when the owner is killed with SIGKILL ($SYS.owner.NAME says so), requests to @NAME reach
// the owner only, replace, release, limits, direct messages by name, and the CLI (claim, names).

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { test } from 'node:test';
import { BusError, connect, ErrorCode, type Client } from '../../src/client/index.js';
import { Proc, daemonPerFile, runCli } from '../helpers/processes.js';

const bus = daemonPerFile(['--max-names-per-client', '3']);
const CLIENT = new URL('../../src/client/index.js', import.meta.url).href;

/** A process that claims `name` (queued if owned) and answers @name requests with `answer`. */
function owner(name: string, answer: string): Promise<ChildProcess> {
  const script = `
    import(${JSON.stringify(CLIENT)}).then(async ({ connect }) => {
      const c = await connect({ path: ${JSON.stringify(bus.path)}, name: ${JSON.stringify(answer)} });
      c.serve('@${name}', () => ${JSON.stringify(answer)});
      c.serve('@${name}.>', () => ${JSON.stringify(answer)});
      await c.flush();
      const r = await c.claim(${JSON.stringify(name)}, { queue: true });
      process.stdout.write(r.result + '\\n');
    });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`owner ${answer} exited ${code}`)));
  });
}

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

async function ask(c: Client, subject: string): Promise<string> {
  return text((await c.request(subject, 'q', { timeoutMs: 2000 })).data);
}

void test('a queued claimant takes the name over when the owner is SIGKILLed; requests follow', async () => {
  const c = await connect({ path: bus.path, reconnect: false });
  const events: unknown[] = [];
  c.subscribe('$SYS.owner.logd', (m) => events.push(JSON.parse(text(m.data))));
  // A catch-all responder must not take requests meant for the name.
  c.serve('>', () => 'thief');
  await c.flush();
  await assert.rejects(ask(c, '@logd.write'), (e: BusError) => e.code === ErrorCode.NO_RESPONDERS);
  const a = await owner('logd', 'A');
  const b = await owner('logd', 'B');
  assert.equal(await ask(c, '@logd.write'), 'A');
  assert.equal(await ask(c, '@logd'), 'A');
  const list = await c.names();
  const entry = list.find((n) => n.name === 'logd');
  assert.equal(entry?.ownerName, 'A');
  assert.equal(entry?.queue.length, 1);
  a.kill('SIGKILL');
  const deadline = Date.now() + 5000;
  while (!events.some((e) => (e as { new: { name: string } | null }).new?.name === 'B')) {
    assert.ok(Date.now() < deadline, `no handover in ${JSON.stringify(events)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const handover = events.at(-1) as { name: string; old: { name: string }; new: { name: string } };
  assert.deepEqual([handover.name, handover.old.name, handover.new.name], ['logd', 'A', 'B']);
  assert.equal(await ask(c, '@logd.write'), 'B');
  b.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal((events.at(-1) as { new: unknown }).new, null, 'the name is free');
  await assert.rejects(ask(c, '@logd.write'), (e: BusError) => e.code === ErrorCode.NO_RESPONDERS);
  await c.close();
});

void test('claim: exists without queue, replace when allowed, release, names with dots, limits', async () => {
  const [x, y] = await Promise.all([
    connect({ path: bus.path, reconnect: false, name: 'x' }),
    connect({ path: bus.path, reconnect: false, name: 'y' }),
  ]);
  assert.deepEqual(await x.claim('org.example.Clock'), { result: 'owner', owner: x.id });
  assert.deepEqual(await x.claim('org.example.Clock'), { result: 'already', owner: x.id });
  assert.deepEqual(await y.claim('org.example.Clock'), { result: 'exists', owner: x.id });
  // Not allowed: replace does not take it; then x allows replacement and y takes it.
  assert.equal((await y.claim('org.example.Clock', { replace: true })).result, 'exists');
  await x.claim('org.example.Clock', { allowReplacement: true });
  assert.deepEqual(await y.claim('org.example.Clock', { replace: true }), {
    result: 'owner',
    owner: y.id,
  });
  assert.equal((await x.nameOwner('org.example.Clock')).id, y.id);
  // The longest owned name wins for a subject: @org.example.Clock.now goes to its owner.
  y.serve('@org.example.Clock.>', (m) => `y:${m.subject}`);
  await y.flush();
  assert.equal(await ask(x, '@org.example.Clock.now'), 'y:@org.example.Clock.now');
  // Released: x (queued behind y after being replaced) gets it back.
  assert.equal(await y.release('org.example.Clock'), true);
  assert.equal((await x.nameOwner('org.example.Clock')).id, x.id);
  assert.equal(await y.release('org.example.Clock'), false);
  await assert.rejects(x.claim('bad name'), (e: BusError) => e.code === ErrorCode.BAD_SUBJECT);
  await assert.rejects(x.nameOwner('nobody'), (e: BusError) => e.code === ErrorCode.NOT_FOUND);
  // --max-names-per-client 3: x holds one, two more fit, the fourth is refused.
  await x.claim('n1');
  await x.claim('n2');
  await assert.rejects(
    x.claim('n3'),
    (e: BusError) => e.code === ErrorCode.LIMIT && /more than 3 names/.test(e.message),
  );
  // A direct message by name reaches the owner.
  const got = new Promise<string>((r) => x.onDirect((m) => r(text(m.data))));
  assert.equal(await y.send('@n1', 'hello owner'), true);
  assert.equal(await got, 'hello owner');
  await assert.rejects(y.send('@nobody', 'x'), (e: BusError) => e.code === ErrorCode.NOT_FOUND);
  const status = await x.status();
  assert.ok(status.totals.names >= 3);
  await Promise.all([x.close(), y.close()]);
});

void test('udsbus claim NAME --exec CMD holds the name while CMD runs and relays @NAME requests; udsbus names lists it', async () => {
  const holder = new Proc([
    'claim',
    'clock',
    '--exec',
    `node ${JSON.stringify(new URL('../../../bin/udsbus.js', import.meta.url).pathname)} reply 'clock.>' --echo -s ${JSON.stringify(bus.path)}`,
    '-s',
    bus.path,
  ]);
  try {
    await holder.stderrHas('serving clock.>');
    const r = await runCli(['req', '@clock.now', 'tick', '-s', bus.path]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'tick\n');
    const n = await runCli(['names', '-s', bus.path]);
    assert.match(n.stdout, /^NAME\s+OWNER\s+CLIENT\s+WAITING\nclock\s+\d+\s+udsbus claim\s+-$/m);
    const j = await runCli(['names', '--json', '-s', bus.path]);
    assert.equal((JSON.parse(j.stdout) as { name: string }[])[0]!.name, 'clock');
    // A second claim waits in line; --no-wait refuses.
    const refused = await runCli(['claim', 'clock', '--no-wait', '-s', bus.path]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /clock is owned by client \d+/);
  } finally {
    holder.kill('SIGTERM');
    await holder.exit();
  }
  const after = await runCli(['names', '-s', bus.path]);
  assert.equal(after.stdout, 'no service names\n');
});
