// examples/logd on a real daemon: records carry the sender's id, name, uid and pid; the file
// rotates at its size limit; security.> events are logged; a waiting second logd takes over when
// the first is SIGKILLed; a logger without logd fails at once.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect, EventBus, type Client } from '../../src/client/index.js';
import { createLogger, LogdError } from '../../examples/logd/client.js';
import { daemonPerFile, example, Proc } from '../helpers/processes.js';

const bus = daemonPerFile();
const LOGD = example('logd/logd.js');

async function startLogd(file: string, extra: string[] = [], owner = true): Promise<Proc> {
  const p = new Proc(['--file', file, '-s', bus.path, ...extra], {}, LOGD);
  await p.stderrHas(owner ? 'logd: owner of logd' : 'logd: waiting for the name logd');
  return p;
}

async function stop(p: Proc): Promise<void> {
  p.kill('SIGTERM');
  assert.equal(await p.exit(), 0, p.stderr);
}

async function withClient<T>(name: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = await connect({ path: bus.path, name, reconnect: false });
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

const lines = (file: string): string[] =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
    : [];

void test('logd: without logd, a logger fails at once with BUS_ERR_NO_RESPONDERS', async () => {
  await withClient('app', async (c) => {
    const started = Date.now();
    const err = await createLogger(c, { timeoutMs: 3000 })
      .info('app', 'x')
      .catch((e: unknown) => e);
    assert.ok(err instanceof LogdError, String(err));
    assert.equal(err.code, 'BUS_ERR_NO_RESPONDERS');
    assert.match(err.message, /logd is not running/);
    assert.ok(Date.now() - started < 2000, 'no waiting for the timeout');
  });
});

void test('logd: each record names its sender (client id, name, uid, pid), one line each', async () => {
  const file = join(bus.dir, 'records.log');
  const logd = await startLogd(file);
  try {
    await withClient('app one', async (c) => {
      const log = createLogger(c);
      await log.info('app', 'started');
      await log.warn('app/db', 'slow query\nsecond line');
      await log.error('app', 'back\\slash');
      const err = await log.info('bad tag', 'x').catch((e: unknown) => e);
      assert.ok(err instanceof LogdError);
      assert.equal(err.code, 'BUS_ERR_RESPONDER_FAILED');
      assert.match(err.message, /tag must be/);

      const got = lines(file);
      // The first line is logd's own: it took the name.
      assert.match(got[0]!, /INFO {2}logd \[client=\d+ name="logd" .*\] owner of logd/);
      const who = `[client=${c.id} name="app one" uid=${process.getuid!()} pid=${process.pid}]`;
      assert.deepEqual(
        got.slice(1).map((l) => l.replace(/^\S+ /, '')),
        [
          `INFO  app ${who} started`,
          `WARN  app/db ${who} slow query\\x0asecond line`,
          `ERROR app ${who} back\\\\slash`,
        ],
      );
      const time = Date.parse(got[1]!.split(' ')[0]!);
      assert.ok(Math.abs(Date.now() - time) < 10_000, got[1]);
    });
  } finally {
    await stop(logd);
  }
});

void test('logd: every security.> event is logged through its EventBus, nothing else', async () => {
  const file = join(bus.dir, 'security.log');
  const logd = await startLogd(file);
  try {
    await withClient('auth', async (c) => {
      const events = new EventBus(c);
      events.emit('security.user.login', { user: 'ada' });
      events.emit('audit.user.login', { user: 'not logged' });
      events.emit('security.sudo', { user: 'bob', ok: false });
      c.publish('security.raw', 'not json');
      // A request after the events: logd has handled them by the time it answers.
      await createLogger(c).info('auth', 'barrier');
      const got = lines(file).slice(1);
      const who = `[client=${c.id} name="auth" uid=${process.getuid!()} pid=${process.pid}]`;
      assert.deepEqual(
        got.map((l) => l.replace(/^\S+ /, '')),
        [
          `INFO  security.user.login ${who} {"user":"ada"}`,
          `INFO  security.sudo ${who} {"user":"bob","ok":false}`,
          `WARN  security.raw ${who} (not JSON) not json`,
          `INFO  auth ${who} barrier`,
        ],
      );
    });
  } finally {
    await stop(logd);
  }
});

void test('logd: the file rotates at --max-bytes, keeping --keep old files', async () => {
  const file = join(bus.dir, 'rotate.log');
  const max = 400;
  const logd = await startLogd(file, ['--max-bytes', String(max), '--keep', '2']);
  try {
    await withClient('rot', async (c) => {
      const log = createLogger(c);
      for (let i = 0; i < 30; i++) await log.info('rot', `record ${String(i).padStart(2, '0')}`);
    });
    for (const f of [file, `${file}.1`, `${file}.2`]) {
      assert.ok(existsSync(f), `${f} exists`);
      assert.ok(statSync(f).size <= max, `${f} is ${statSync(f).size} bytes`);
    }
    assert.ok(!existsSync(`${file}.3`), 'only 2 rotated files are kept');
    // Oldest file first, the records run on without a hole and end with the last one.
    const numbers = [`${file}.2`, `${file}.1`, file]
      .flatMap(lines)
      .map((l) => /record (\d+)$/.exec(l)?.[1])
      .filter((n) => n !== undefined)
      .map(Number);
    assert.equal(numbers.at(-1), 29);
    assert.ok(numbers.length >= 6 && numbers.length < 30, `${numbers.length} records kept`);
    assert.deepEqual(
      numbers,
      numbers.map((_, i) => numbers[0]! + i),
    );
    // Each file holds as much as fits: adding its successor's first line would pass the limit.
    const firstNext = lines(file)[0]!;
    assert.ok(statSync(`${file}.1`).size + Buffer.byteLength(firstNext) + 1 > max);
  } finally {
    await stop(logd);
  }
});

void test('logd: a second instance waits in line and takes over when the first is SIGKILLed', async () => {
  const file = join(bus.dir, 'takeover.log');
  const first = await startLogd(file);
  const second = await startLogd(file, [], false);
  try {
    await withClient('app', async (c) => {
      const log = createLogger(c);
      new EventBus(c).emit('security.check', { n: 1 });
      await log.info('app', 'to the first');
      first.kill('SIGKILL');
      await first.exit();
      await second.stderrHas('logd: owner of logd');
      await log.info('app', 'to the second');
      // The event was logged once: a waiting instance does not log events.
      const got = lines(file);
      assert.equal(got.length, 5, got.join('\n'));
      assert.match(got[0]!, new RegExp(`owner of logd, pid ${first.child.pid}$`));
      assert.match(got[1]!, /security\.check .* \{"n":1\}$/);
      assert.match(got[2]!, /to the first$/);
      assert.match(got[3]!, new RegExp(`owner of logd, pid ${second.child.pid}$`));
      assert.match(got[4]!, /to the second$/);
      const names = await c.names();
      assert.equal(names.find((n) => n.name === 'logd')?.ownerName, 'logd');
    });
  } finally {
    first.kill('SIGKILL');
    await stop(second);
  }
});
