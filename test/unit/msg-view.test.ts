// MsgView, the client's lazily read MSG, against decodeMsg: the same fields for every flag
// combination and sid width, and the same refusals of malformed frames.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Flag } from '../../src/protocol/constants.js';
import {
  decodeMsg,
  encodeMsg,
  envelopeSize,
  writeEnvelope,
  UNKNOWN_ID,
} from '../../src/protocol/delivery-frames.js';
import { BusError, ErrorCode } from '../../src/protocol/errors.js';
import {
  encodeExtras,
  tailSize,
  writeTail,
  type MessageExtras,
} from '../../src/protocol/extras.js';
import { MsgView } from '../../src/protocol/msg-view.js';
import { readVarint } from '../../src/protocol/varint.js';

function msgBody(
  sid: number,
  extras: MessageExtras,
  reply: boolean,
  payload: Uint8Array,
): Uint8Array {
  const ex = encodeExtras(extras);
  const tail = new Uint8Array(tailSize(ex, payload.length));
  writeTail(tail, 0, ex, payload);
  const flags = ex.flags | (reply ? Flag.REPLY : 0);
  const subject = new TextEncoder().encode('a.b.c');
  const env = new Uint8Array(envelopeSize(subject.length, flags, tail.length));
  writeEnvelope(
    env,
    0,
    flags,
    7,
    { id: 42, uid: 1000, pid: UNKNOWN_ID },
    2 ** 40 + 5,
    subject,
    0x0102030405,
    tail,
  );
  const frame = encodeMsg(sid, env);
  const pos = { next: 0 };
  readVarint(frame, 0, pos);
  return frame.subarray(pos.next);
}

const plain = (m: object): Record<string, unknown> => {
  const o = { ...(m instanceof MsgView ? m.toJSON() : m) } as Record<string, unknown>;
  if (o['headers'] !== undefined) o['headers'] = { ...(o['headers'] as object) };
  o['data'] = Array.from(o['data'] as Uint8Array);
  return o;
};

void test('MsgView reads the same fields as decodeMsg for every flag combination and sid width', () => {
  const payload = new Uint8Array([1, 2, 3, 250]);
  for (const sid of [0, 1, 127, 128, 300_000])
    for (const reply of [false, true])
      for (const extras of [
        {},
        { type: 9 },
        { headers: { k: 'v', x: 'yz' } },
        { type: 1, headers: { a: 'b' } },
      ] as MessageExtras[]) {
        const body = msgBody(sid, extras, reply, payload);
        // Embedded at an offset in a larger buffer, as the decoder hands it over.
        const buf = new Uint8Array(body.length + 10);
        buf.set(body, 3);
        const view = new MsgView(buf, 3, 3 + body.length);
        assert.deepEqual(
          plain(view),
          plain(decodeMsg(body)),
          `sid ${sid} reply ${reply} ${JSON.stringify(extras)}`,
        );
        assert.equal(view.data, view.data, 'the payload view is made once');
      }
});

void test('MsgView refuses what decodeMsg refuses', () => {
  const good = msgBody(1, { type: 3 }, true, new Uint8Array(4));
  const isProtocol = (e: unknown): boolean =>
    e instanceof BusError && e.code === ErrorCode.PROTOCOL;
  for (let cut = 1; cut < good.length; cut++) {
    const body = good.subarray(0, cut);
    let viaDecode = false;
    try {
      decodeMsg(body);
    } catch (e) {
      viaDecode = isProtocol(e);
    }
    if (!viaDecode) continue;
    assert.throws(() => new MsgView(body, 0, body.length), isProtocol, `cut at ${cut}`);
  }
  const unknownFlag = good.slice();
  unknownFlag[2] = unknownFlag[2]! | 0x80;
  assert.throws(() => new MsgView(unknownFlag, 0, unknownFlag.length), isProtocol);
});
