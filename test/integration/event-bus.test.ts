// EventBus over a real daemon: the three codecs, once(), off(), and payloads the codec cannot read
// reported (onError, or the client's 'error' listeners) without breaking the subscription.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BusError, connect, EventBus, ErrorCode, type Msg } from '../../src/client/index.js';
import { daemonPerFile } from '../helpers/processes.js';

const bus = daemonPerFile();

async function pair(): Promise<
  [Awaited<ReturnType<typeof connect>>, Awaited<ReturnType<typeof connect>>]
> {
  return Promise.all([
    connect({ path: bus.path, reconnect: false }),
    connect({ path: bus.path, reconnect: false }),
  ]);
}

/** Lets the daemon deliver what `a` published to `b`. */
async function settle(a: { flush(): Promise<void> }, b: { flush(): Promise<void> }): Promise<void> {
  await a.flush();
  await new Promise((r) => setTimeout(r, 50));
  await b.flush();
}

void test('EventBus: json (default), cbor and raw codecs carry values both ways', async () => {
  const [a, b] = await pair();
  const got: unknown[] = [];
  for (const codec of ['json', 'cbor', 'raw'] as const) {
    new EventBus(b, { codec }).on(`ev.${codec}.*`, (v, subject) => got.push([codec, subject, v]));
  }
  await b.flush();
  new EventBus(a).emit('ev.json.x', { n: 1, s: 'é' });
  new EventBus(a, { codec: 'cbor' }).emit('ev.cbor.x', { n: 2, bytes: Uint8Array.of(1, 2) });
  new EventBus(a, { codec: 'raw' }).emit('ev.raw.x', Uint8Array.of(0, 255));
  await settle(a, b);
  assert.deepEqual(got, [
    ['json', 'ev.json.x', { n: 1, s: 'é' }],
    ['cbor', 'ev.cbor.x', { n: 2, bytes: Uint8Array.of(1, 2) }],
    ['raw', 'ev.raw.x', Uint8Array.of(0, 255)],
  ]);
  assert.throws(
    () => new EventBus(a, { codec: 'raw' }).emit('ev.raw.y', { not: 'bytes' }),
    TypeError,
  );
  await Promise.all([a.close(), b.close()]);
});

void test('EventBus: once() takes the first message only; off() stops a listener', async () => {
  const [a, b] = await pair();
  const eb = new EventBus(b);
  const seen: unknown[] = [];
  const first = eb.once('one.*', (v) => seen.push(v));
  const all: unknown[] = [];
  const listener = (v: unknown): void => void all.push(v);
  eb.on('many.x', listener);
  await b.flush();
  const ea = new EventBus(a);
  ea.emit('one.a', 1);
  ea.emit('one.b', 2);
  ea.emit('many.x', 'a');
  await settle(a, b);
  assert.equal(await first, 1);
  assert.deepEqual(seen, [1]);
  eb.off('many.x', listener);
  await b.flush();
  ea.emit('many.x', 'b');
  await settle(a, b);
  assert.deepEqual(all, ['a']);
  await Promise.all([a.close(), b.close()]);
});

void test('EventBus: a payload that is not JSON is reported, not thrown, and the next one arrives', async () => {
  const [a, b] = await pair();
  const errors: [BusError, Msg][] = [];
  const values: unknown[] = [];
  const eb = new EventBus(b, { onError: (err, msg) => errors.push([err, msg]) });
  eb.on('j.x', (v) => values.push(v));
  // Without onError: the client's 'error' listeners get it.
  const viaClient: unknown[] = [];
  b.on('error', (e) => viaClient.push(e));
  new EventBus(b, { codec: 'cbor' }).on('c.x', () => assert.fail('not called for bad CBOR'));
  // A listener that throws is reported too.
  eb.on('t.x', () => {
    throw new Error('listener bug');
  });
  await b.flush();
  a.publish('j.x', 'not json {');
  a.publish('j.x', '{"ok":true}');
  a.publish('c.x', Uint8Array.of(0xd8, 0x1b, 0x00)); // a CBOR tag: refused
  a.publish('t.x', '1');
  await settle(a, b);
  assert.deepEqual(values, [{ ok: true }]);
  assert.equal(errors.length, 2);
  assert.equal(errors[0]![0].code, ErrorCode.PROTOCOL);
  assert.match(errors[0]![0].message, /the message on j\.x is not json/);
  assert.equal(errors[0]![1].subject, 'j.x');
  assert.match(errors[1]![0].message, /a listener on t\.x threw: listener bug/);
  assert.equal(viaClient.length, 1);
  assert.match((viaClient[0] as Error).message, /the message on c\.x is not cbor/);
  assert.equal(eb.decodeErrors, 1);
  assert.equal(b.connected, true);
  await Promise.all([a.close(), b.close()]);
});
