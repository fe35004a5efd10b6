// examples/mixer without a browser, on a real daemon: concurrent CLI changes are never lost
// (compare-and-set with retry), the mixer daemon seeds and repairs the state and answers
// @mixer.* requests, the CLI checks its arguments, and the web server refuses foreign Hosts and
// cross-origin POSTs.

import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, beforeEach, test } from 'node:test';
import { connect, type Client } from '../../src/client/index.js';
import { daemonPerFile, example, Proc, runCli } from '../helpers/processes.js';

const bus = daemonPerFile();
const CLI = example('mixer/cli.js');
let mixer: Proc;
let client: Client;

const mixerCli = (...args: string[]) => runCli(['-s', bus.path, ...args], { script: CLI });
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Waits until `key` holds `want` (it may have no value for a while). */
async function valueIs(key: string, want: string): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const got = await client.get(key).then(
      (v) => text(v.value),
      (err: unknown) => `(${(err as Error).message})`,
    );
    if (got === want) return;
    if (Date.now() > deadline) throw new Error(`${key} is ${JSON.stringify(got)}, not ${want}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// The file's daemon starts in a root before() hook; the mixer and the client start after it.
let started: Promise<void> | undefined;
beforeEach(() => {
  started ??= (async () => {
    mixer = new Proc(['-s', bus.path], {}, example('mixer/mixer.js'));
    await mixer.stderrHas('mixer: serving mixer');
    client = await connect({ path: bus.path, name: 'test', reconnect: false });
  })();
  return started;
});

after(async () => {
  await client.close();
  mixer.kill('SIGTERM');
  await mixer.exit();
});

void test('mixer: seeds the defaults; a second mixer exits 1', async () => {
  assert.equal(text((await client.get('mixer.volume')).value), '0.2');
  assert.equal(text((await client.get('mixer.programs')).value), '[]');
  const second = new Proc(['-s', bus.path], {}, example('mixer/mixer.js'));
  assert.equal(await second.exit(), 1);
  assert.match(second.stderr, /another mixer \(client \d+\) owns the name mixer/);
});

void test('mixer CLI: concurrent shifts and adds are all applied (compare-and-set with retry)', async () => {
  assert.equal((await mixerCli('set', '0.5')).stdout, 'volume 0.5\n');
  const shifts = Array.from({ length: 8 }, () => mixerCli('shift', '0.01'));
  const adds = Array.from({ length: 6 }, (_, i) => mixerCli('add-program', `prog-${i}`));
  const results = await Promise.all([...shifts, ...adds]);
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const got = await mixerCli('--json', 'get');
  const state = JSON.parse(got.stdout) as { volume: number; programs: string[] };
  assert.equal(state.volume, 0.58);
  assert.deepEqual([...state.programs].sort(), [
    'prog-0',
    'prog-1',
    'prog-2',
    'prog-3',
    'prog-4',
    'prog-5',
  ]);
  // Shifts clamp at the ends; a negative number is a value, not an option.
  assert.equal((await mixerCli('shift', '5')).stdout.split('\n')[0], 'volume 1');
  assert.equal((await mixerCli('shift', '-0.25')).stdout.split('\n')[0], 'volume 0.75');
  for (let i = 0; i < 6; i++) assert.equal((await mixerCli('remove-program', `prog-${i}`)).code, 0);
  assert.equal((await mixerCli('get')).stdout, 'volume 0.75\n');
});

void test('mixer CLI: bad arguments exit 2 before connecting', async () => {
  for (const args of [
    [],
    ['set'],
    ['set', 'loud'],
    ['get', 'x'],
    ['louder'],
    ['add-program'],
    ['--bogus', 'get'],
  ]) {
    const r = await runCli(['-s', '/nonexistent/bus.sock', ...args], { script: CLI });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^mixer-cli: .*\nusage: /);
  }
  const noBus = await runCli(['-s', '/nonexistent/bus.sock', 'get'], { script: CLI });
  assert.equal(noBus.code, 1);
  assert.match(noBus.stderr, /^mixer-cli: no udsbus daemon at \/nonexistent\/bus\.sock/);
  const bad = await mixerCli('add-program', 'tab\there');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /control characters/);
});

void test('mixer: values written around the rules are repaired', async () => {
  await client.set('mixer.volume', '0.4');
  await valueIs('mixer.volume', '0.4');
  await client.set('mixer.volume', '7');
  await valueIs('mixer.volume', '1');
  await client.set('mixer.volume', '0.333');
  await valueIs('mixer.volume', '0.33');
  await client.set('mixer.volume', 'loud');
  await valueIs('mixer.volume', '0.33'); // the last good value
  await client.delete('mixer.volume');
  await valueIs('mixer.volume', '0.33');
  await client.set('mixer.programs', '{"not":"a list"}');
  await valueIs('mixer.programs', '[]');
  await client.set('mixer.programs', '["a","a","",7,"b"]');
  await valueIs('mixer.programs', '["a","b"]');
  await client.delete('mixer.programs');
  await valueIs('mixer.programs', '[]');
});

void test('mixer: @mixer.* requests for clients without compare-and-set', async () => {
  const ask = async (method: string, body = '') =>
    JSON.parse(text((await client.request(`@mixer.${method}`, body)).data)) as unknown;
  assert.deepEqual(await ask('set', '0.5'), { volume: 0.5, programs: [] });
  assert.deepEqual(await ask('shift', '-0.1'), { volume: 0.4, programs: [] });
  assert.deepEqual(await ask('add-program', 'mpv'), { volume: 0.4, programs: ['mpv'] });
  assert.deepEqual(await ask('remove-program', 'mpv'), { volume: 0.4, programs: [] });
  assert.deepEqual(await ask('get'), { volume: 0.4, programs: [] });
  await assert.rejects(ask('shift', 'x'), {
    code: 'BUS_ERR_RESPONDER_FAILED',
    message: /not a number/,
  });
  await assert.rejects(ask('explode'), {
    code: 'BUS_ERR_RESPONDER_FAILED',
    message: /no method explode/,
  });
});

/** One HTTP request with the headers given (Host included), the body read as text. */
function http(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        data += c;
        // An event stream never ends: the first event is enough.
        if (res.headers['content-type']?.startsWith('text/event-stream') && data.includes('\n\n')) {
          res.destroy();
          resolve({ status: res.statusCode!, body: data, type: res.headers['content-type'] });
        }
      });
      res.on('end', () =>
        resolve({ status: res.statusCode!, body: data, type: res.headers['content-type'] ?? '' }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

void test('mixer web: page, events and POST /volume on loopback; foreign Host and Origin refused', async () => {
  const web = new Proc(['-s', bus.path, '--port', '0'], {}, example('mixer/web.js'));
  try {
    await web.stderrHas('mixer-web: listening on');
    const port = Number(/127\.0\.0\.1:(\d+)\//.exec(web.stderr)![1]);
    const host = { host: `127.0.0.1:${port}` };
    const page = await http(port, 'GET', '/', host);
    assert.equal(page.status, 200);
    assert.match(page.type, /^text\/html/);
    assert.match(page.body, /<input id="volume" type="range"/);
    assert.equal((await http(port, 'GET', '/', { host: `localhost:${port}` })).status, 200);
    assert.equal((await http(port, 'GET', '/', { host: `evil.example:${port}` })).status, 421);

    const posted = await http(port, 'POST', '/volume', host, '0.42');
    assert.deepEqual([posted.status, posted.body], [200, '{"volume":0.42}\n']);
    await valueIs('mixer.volume', '0.42');
    const events = await http(port, 'GET', '/events', host);
    assert.match(
      events.body,
      /^retry: 1000\nevent: state\ndata: \{"volume":0\.42,"programs":\[\],"revision":\d+\}\n\n/,
    );

    const foreign = { ...host, origin: 'http://evil.example' };
    assert.equal((await http(port, 'POST', '/volume', foreign, '1')).status, 403);
    assert.equal((await http(port, 'POST', '/volume', host, 'loud')).status, 400);
    assert.equal((await http(port, 'POST', '/volume', host, '0.'.padEnd(100, '1'))).status, 400);
    assert.equal((await http(port, 'GET', '/nope', host)).status, 404);
    assert.equal(text((await client.get('mixer.volume')).value), '0.42');
  } finally {
    web.kill('SIGTERM');
    assert.equal(await web.exit(), 0, web.stderr);
  }
});
