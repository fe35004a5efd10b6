// Shared state (issue 10, point 1) through the real CLI and client library against real daemon
// processes: set/get/watch/del/keys, compare-and-set, limits, and the state file across restarts.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BusError, connect, ErrorCode, type StateEvent } from '../../src/client/index.js';
import { DaemonProc, Proc, daemonPerFile, runCli, tempDir } from '../helpers/processes.js';

const bus = daemonPerFile(['--no-persist']);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

async function cli(args: string[], socket = bus.path): ReturnType<typeof runCli> {
  return runCli([...args, '-s', socket]);
}

async function watch(args: string[], socket = bus.path): Promise<Proc> {
  const p = new Proc(['watch', '-s', socket, ...args]);
  await p.stderrHas('watching');
  return p;
}

void test('acceptance: set vol 0.2, get prints 0.2; a later watch prints 0.2 then 0.5', async () => {
  const set = await cli(['set', 'vol', '0.2']);
  assert.equal(set.code, 0, set.stderr);
  assert.equal(set.stdout, '');
  const get = await cli(['get', 'vol']);
  assert.equal(get.code, 0, get.stderr);
  assert.equal(get.stdout, '0.2\n');
  const w = await watch(['vol', '--count', '2']);
  await w.waitFor((p) => p.stdout === '0.2\n', 'the current value first');
  assert.equal((await cli(['set', 'vol', '0.5'])).code, 0);
  assert.equal(await w.exit(), 0, w.stderr);
  assert.equal(w.stdout, '0.2\n0.5\n');
});

void test('compare-and-set with a stale revision fails with a clear error and changes nothing', async () => {
  const first = await cli(['set', 'gui.color', 'red', '--json']);
  const { revision } = JSON.parse(first.stdout) as { revision: number };
  const ok = await cli(['set', 'gui.color', 'green', '--if-revision', String(revision)]);
  assert.equal(ok.code, 0, ok.stderr);
  // The second GUI still holds the old revision.
  const stale = await cli(['set', 'gui.color', 'blue', '--if-revision', String(revision)]);
  assert.equal(stale.code, 1);
  assert.equal(
    stale.stderr,
    `udsbus: state.set gui.color: revision conflict: its revision is ${revision + 1}, expected ${revision}\n`,
  );
  assert.equal((await cli(['get', 'gui.color'])).stdout, 'green\n');
  const create = await cli(['set', 'gui.color', 'x', '--if-revision', '0']);
  assert.equal(create.code, 1);
  assert.match(create.stderr, /expected no key \(ifRevision 0\)/);
});

void test('get and del of a missing key fail with "no such key"; usage errors exit 2', async () => {
  const get = await cli(['get', 'no.such']);
  assert.deepEqual([get.code, get.stderr], [1, 'udsbus: state.get no.such: no such key\n']);
  const del = await cli(['del', 'no.such']);
  assert.deepEqual([del.code, del.stderr], [1, 'udsbus: state.delete no.such: no such key\n']);
  const bad = await cli(['set', '$x', '1']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /state key "\$x" starts with "\$"/);
  assert.equal((await cli(['watch', 'a..b'])).code, 2);
});

void test('watch --json sees current values, changes and deletions with revisions', async () => {
  await cli(['set', 'w.a', '1']);
  const w = await watch(['w.*', '--json', '--count', '4']);
  await w.waitFor((p) => p.stdout.split('\n').length > 1, 'the current value');
  await cli(['set', 'w.b', '2']);
  await cli(['del', 'w.a']);
  await cli(['set', 'w.a', '3']);
  assert.equal(await w.exit(), 0, w.stderr);
  const ev = w.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    ev.map((e) => [e['key'], e['data'], e['deleted'], e['current']]),
    [
      ['w.a', '1', false, true],
      ['w.b', '2', false, false],
      ['w.a', undefined, true, false],
      ['w.a', '3', false, false],
    ],
  );
  const rev = ev.map((e) => e['revision'] as number);
  assert.ok(rev[0]! < rev[1]! && rev[1]! < rev[2]! && rev[2]! < rev[3]!, rev.join(' '));
  assert.equal(ev[2]!['prev'], rev[0], 'the deletion replaced the value the watcher saw');
  assert.equal(ev[3]!['prev'], 0, 're-created after a deletion');
});

void test('keys lists matching keys sorted; --json gives revision, size and persist', async () => {
  for (const k of ['k.b', 'k.a', 'k.c.d']) await cli(['set', k, 'xy']);
  assert.equal((await cli(['keys', 'k.*'])).stdout, 'k.a\nk.b\n');
  assert.equal((await cli(['keys', 'k.>'])).stdout, 'k.a\nk.b\nk.c.d\n');
  const j = (await cli(['keys', 'k.a', '--json'])).stdout;
  const item = JSON.parse(j) as Record<string, unknown>;
  assert.deepEqual([item['key'], item['size'], item['persist']], ['k.a', 2, false]);
  const st = await cli(['status']);
  assert.match(st.stdout, /^state: \d+ keys, \d+ bytes, revision \d+$/m);
});

void test('library: two GUIs with compare-and-set, a watch iterator with revisions', async () => {
  const a = await connect({ path: bus.path, name: 'gui-a' });
  const b = await connect({ path: bus.path, name: 'gui-b' });
  try {
    const { revision } = await a.set('mix.vol', '0.1');
    const w = b.watch('mix.vol');
    const events: StateEvent[] = [];
    const reading = (async () => {
      for await (const ev of w) {
        events.push(ev);
        if (events.length === 2) break;
      }
    })();
    const seen = await b.get('mix.vol');
    await b.set('mix.vol', '0.4', { ifRevision: seen.revision });
    await assert.rejects(
      a.set('mix.vol', '0.9', { ifRevision: revision }),
      (e: unknown) => e instanceof BusError && e.code === ErrorCode.CONFLICT,
    );
    await reading;
    assert.deepEqual(
      events.map((e) => [text(e.value), e.current, e.prev]),
      [
        ['0.1', true, undefined],
        ['0.4', false, revision],
      ],
    );
    assert.equal(events[1]!.from, b.id, 'the change names who made it');
    await assert.rejects(
      a.get('mix.nope'),
      (e: unknown) => e instanceof BusError && e.code === ErrorCode.NOT_FOUND,
    );
    assert.ok((await a.keys('mix.>')).some((k) => k.key === 'mix.vol'));
  } finally {
    await a.close();
    await b.close();
  }
});

void test('limits: a value, a key and the total past the limits are refused with clear errors', async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, 'bus.sock');
  const d = await DaemonProc.start(path, [
    '--no-persist',
    '--max-state-keys',
    '2',
    '--max-state-value-bytes',
    '16',
    '--max-state-bytes',
    '25',
  ]);
  try {
    const big = await cli(['set', 'big', 'x'.repeat(17)], path);
    assert.deepEqual(
      [big.code, big.stderr],
      [
        1,
        'udsbus: state.set big: a value of 17 bytes is over the limit of 16 bytes (maxStateValueBytes)\n',
      ],
    );
    assert.equal((await cli(['set', 'a', 'x'.repeat(10)], path)).code, 0);
    const total = await cli(['set', 'b', 'x'.repeat(16)], path);
    assert.match(
      total.stderr,
      /state\.set b: the store would hold 28 bytes, over its limit of 25 \(maxStateBytes\)/,
    );
    assert.equal((await cli(['set', 'b', 'x'], path)).code, 0);
    const keys = await cli(['set', 'c', 'x'], path);
    assert.equal(
      keys.stderr,
      'udsbus: state.set c: the store holds 2 keys, its limit (maxStateKeys)\n',
    );
  } finally {
    await d.stop();
    tmp.cleanup();
  }
});

void test('persistence: values set with --persist survive a restart (and a crash); revisions continue', async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, 'bus.sock');
  const dir = join(tmp.dir, 'state');
  const args = ['--state-dir', dir];
  let d = await DaemonProc.start(path, args);
  try {
    assert.equal((await cli(['set', 'keep', 'kept', '--persist', '--type', '9'], path)).code, 0);
    assert.equal((await cli(['set', 'gone', 'x'], path)).code, 0);
    const last = JSON.parse((await cli(['set', 'gone', 'y', '--json'], path)).stdout) as {
      revision: number;
    };
    assert.equal(await d.stop(), 0);
    d = await DaemonProc.start(path, args);
    await d.stderrHas(`state: loaded 1 values from ${join(dir, 'state.json')}`);
    const got = JSON.parse((await cli(['get', 'keep', '--json'], path)).stdout) as Record<
      string,
      unknown
    >;
    assert.deepEqual(got, { key: 'keep', data: 'kept', revision: 1, type: 9, persist: true });
    assert.equal((await cli(['get', 'gone'], path)).code, 1, 'not marked persist: gone');
    const next = JSON.parse((await cli(['set', 'new', '1', '--json'], path)).stdout) as {
      revision: number;
    };
    assert.ok(next.revision > last.revision, 'revisions do not restart after a restart');
    // A crash: the write comes 100 ms after the change, not at shutdown.
    assert.equal((await cli(['set', 'keep', 'again', '--persist'], path)).code, 0);
    await d.waitFor(
      () => readFileSync(join(dir, 'state.json'), 'utf8').includes(btoa('again')),
      'the state file written',
    );
    d.kill('SIGKILL');
    await d.exit();
    d = await DaemonProc.start(path, args);
    assert.equal((await cli(['get', 'keep'], path)).stdout, 'again\n');
  } finally {
    await d.stop();
    tmp.cleanup();
  }
});

void test('a corrupt state file is logged, kept aside, and the daemon starts with no values', async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, 'bus.sock');
  const dir = join(tmp.dir, 'state');
  let d = await DaemonProc.start(path, ['--state-dir', dir]);
  await cli(['set', 'v', '1', '--persist'], path);
  assert.equal(await d.stop(), 0);
  writeFileSync(join(dir, 'state.json'), '{"format":"udsbus-state","version":1,"rev');
  d = await DaemonProc.start(path, ['--state-dir', dir]);
  try {
    await d.stderrHas(`state: ${join(dir, 'state.json')} is corrupt`);
    assert.match(d.stderr, /starting with no values; kept as .*state\.json\.corrupt-/);
    assert.equal((await cli(['get', 'v'], path)).code, 1);
    const kept = readdirSync(dir).filter((f) => f.startsWith('state.json.corrupt-'));
    assert.equal(kept.length, 1);
    // New values are written to a fresh file.
    await cli(['set', 'v', '2', '--persist'], path);
    await d.waitFor(() => existsSync(join(dir, 'state.json')), 'a new state file');
  } finally {
    await d.stop();
    tmp.cleanup();
  }
});
