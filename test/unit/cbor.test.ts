// Tests the CBOR guard of control frames: tags, indefinite lengths, depth, item counts, keys,
// UTF-8, minimal encodings, trailing bytes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeCbor, encodeCbor } from '../../src/protocol/cbor.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { isBusError } from '../helpers/mem-conn.js';

const refused = (bytes: number[], why: RegExp | string): void => {
  assert.throws(
    () => decodeCbor(Uint8Array.from(bytes)),
    (e) =>
      isBusError(e, ErrorCode.PROTOCOL) &&
      (typeof why === 'string'
        ? (e as Error).message.includes(why)
        : why.test((e as Error).message)),
    `${bytes.map((b) => b.toString(16)).join(' ')} should be refused (${String(why)})`,
  );
};

void test('round trip of the value kinds control frames use', () => {
  const v = {
    a: 1,
    b: -2,
    c: 'text',
    d: true,
    e: false,
    f: null,
    g: [1, 'x', { h: 2 }],
    i: 1.5,
    j: 4294967295,
  };
  assert.deepEqual(decodeCbor(encodeCbor(v)), v);
  const bytes = decodeCbor(encodeCbor({ b: Uint8Array.from([1, 2]) })) as { b: Uint8Array };
  assert.deepEqual([...bytes.b], [1, 2]);
});

void test('tags 27, 28, 29 and any other tag are refused', () => {
  refused([0xd8, 0x1b, 0x80], 'CBOR tag 27'); // tag 27 (serialised object) + []
  refused([0xd8, 0x1c, 0xa0], 'CBOR tag 28'); // tag 28 (shareable) + {}
  refused([0xd8, 0x1d, 0x00], 'CBOR tag 29'); // tag 29 (shared ref) + 0
  refused([0xc0, 0x60], 'CBOR tag 0'); // date string
  refused([0xc2, 0x41, 0x01], 'CBOR tag 2'); // bignum
  refused([0xd9, 0xd9, 0xf7, 0x00], 'CBOR tag 55799'); // self-describe
  refused([0xa1, 0x61, 0x78, 0xd8, 0x1c, 0xa0], 'CBOR tag 28'); // nested in a map value
  refused([0x81, 0xd8, 0x1b, 0x80], 'CBOR tag 27'); // nested in an array
});

void test('indefinite lengths are refused', () => {
  refused([0x9f, 0xff], 'indefinite'); // array
  refused([0xbf, 0xff], 'indefinite'); // map
  refused([0x5f, 0xff], 'indefinite'); // byte string
  refused([0x7f, 0xff], 'indefinite'); // text string
  refused([0xff], 'indefinite'); // lone break
  refused([0x81, 0x9f, 0xff], 'indefinite');
});

void test('nesting deeper than 8 is refused; depth 8 is accepted', () => {
  const nested = (n: number): number[] => [...new Array<number>(n).fill(0x81), 0x00]; // n arrays around 0
  assert.deepEqual(decodeCbor(Uint8Array.from(nested(8))), [[[[[[[[0]]]]]]]]);
  refused(nested(9), 'nesting deeper than 8');
  refused(nested(40), 'nesting deeper than 8');
  const maps = [
    0xa1, 0x61, 0x61, 0xa1, 0x61, 0x61, 0xa1, 0x61, 0x61, 0xa1, 0x61, 0x61, 0xa1, 0x61, 0x61,
  ];
  refused(
    [...maps, 0xa1, 0x61, 0x61, 0xa1, 0x61, 0x61, 0xa1, 0x61, 0x61, 0xa1, 0x61, 0x61, 0x00],
    'nesting deeper than 8',
  );
});

void test('more than 4096 items, or a container announcing more, is refused', () => {
  const arr = (n: number): number[] => [0x99, n >> 8, n & 0xff, ...new Array<number>(n).fill(0)];
  assert.equal((decodeCbor(Uint8Array.from(arr(4095))) as unknown[]).length, 4095);
  refused(arr(4096), 'item count above 4096'); // 4096 + the array itself
  refused([0x9a, 0xff, 0xff, 0xff, 0xff], 'longer than 4096');
  refused([0xba, 0x00, 0x01, 0x00, 0x01], 'larger than 4096');
});

void test('map keys that are not text strings are refused', () => {
  refused([0xa1, 0x01, 0x02], 'map key is not a text string'); // {1: 2}
  refused([0xa1, 0x41, 0x61, 0x02], 'map key is not a text string'); // {h'61': 2}
  refused([0xa1, 0x80, 0x02], 'map key is not a text string'); // {[]: 2}
  refused([0xa1, 0xd8, 0x1c, 0x61, 0x61, 0x02], 'map key is not a text string'); // tagged key
  refused([0xa1], 'map key is not a text string'); // key missing
});

void test('trailing bytes and truncation are refused', () => {
  refused([0xa0, 0x00], 'trailing bytes');
  refused([0x01, 0x01], 'trailing bytes');
  refused([], 'truncated');
  refused([0x62, 0x61], 'truncated');
  refused([0x19, 0x01], 'truncated');
  refused([0x82, 0x01], 'truncated');
});

void test('reserved and unassigned encodings are refused', () => {
  refused([0x1c], 'reserved');
  refused([0x1d], 'reserved');
  refused([0xfe], 'reserved');
  refused([0xe0], 'unassigned CBOR simple value');
  refused([0xf8, 0x20], 'unassigned CBOR simple value');
});

void test('simple values and non-integral floats decode', () => {
  assert.equal(decodeCbor(Uint8Array.from([0xf4])), false);
  assert.equal(decodeCbor(Uint8Array.from([0xf5])), true);
  assert.equal(decodeCbor(Uint8Array.from([0xf6])), null);
  assert.equal(decodeCbor(Uint8Array.from([0xf9, 0x3e, 0x00])), 1.5);
  assert.equal(decodeCbor(Uint8Array.from([0xfa, 0x3f, 0xc0, 0x00, 0x00])), 1.5);
  assert.equal(decodeCbor(Uint8Array.from([0xfb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0])), 1.5);
});

void test('undefined, integers sent as floats, NaN and Infinity are refused', () => {
  refused([0xf7], 'undefined');
  refused([0xa1, 0x61, 0x78, 0xf7], 'undefined');
  refused([0xf9, 0x3c, 0x00], 'integer sent as a CBOR float'); // half 1.0
  refused([0xfa, 0x3f, 0x80, 0x00, 0x00], 'integer sent as a CBOR float'); // single 1.0
  refused([0xfb, 0x40, 0x45, 0, 0, 0, 0, 0, 0], 'integer sent as a CBOR float'); // double 42.0
  refused([0xf9, 0x00, 0x00], 'integer sent as a CBOR float'); // half 0.0
  refused([0xf9, 0x7e, 0x00], 'malformed CBOR'); // NaN
  refused([0xf9, 0x7c, 0x00], 'malformed CBOR'); // Infinity
});

void test('duplicate map keys and non-minimal integers are refused', () => {
  refused([0xa2, 0x61, 0x61, 0x01, 0x61, 0x61, 0x02], 'malformed CBOR'); // {a:1, a:2}
  refused([0x18, 0x01], 'malformed CBOR'); // 1 in two bytes
  refused([0x19, 0x00, 0x10], 'malformed CBOR'); // 16 in three bytes
  refused([0x78, 0x01, 0x61], 'malformed CBOR'); // text length 1 in two bytes
  refused([0x1b, 0x00, 0x20, 0, 0, 0, 0, 0, 0], 'malformed CBOR'); // 2^53: above safe integers
});

void test('text strings (and map keys) that are not valid UTF-8 are refused', () => {
  refused([0x62, 0xc3, 0x28], 'not valid UTF-8'); // a lead byte without its continuation
  refused([0xa1, 0x61, 0xff, 0x01], 'not valid UTF-8'); // a key that is not UTF-8
  assert.equal(decodeCbor(Uint8Array.from([0x62, 0xc3, 0xa9])), 'é');
  // Byte strings carry any bytes.
  assert.deepEqual(decodeCbor(Uint8Array.from([0x42, 0xc3, 0x28])), Uint8Array.from([0xc3, 0x28]));
});

void test('maps keep their insertion order on the wire; undefined properties are left out', () => {
  assert.deepEqual(
    [...encodeCbor({ zz: 1, a: 2, m: undefined })],
    [0xa2, 0x62, 0x7a, 0x7a, 0x01, 0x61, 0x61, 0x02],
  );
});
