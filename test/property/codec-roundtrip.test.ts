// Property tests of the codec: every message frame decodes to exactly what was encoded, an
// envelope built from a PUB carries the PUB's fields, and non-minimal varints are refused.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Flag, Op, ReplyStatus, ResStatus } from '../../src/protocol/constants.js';
import {
  decodeGap,
  decodeMsg,
  decodeReply,
  encodeGap,
  encodeMsg,
  encodeReply,
  envelopeSize,
  PUB_ENVELOPE_EXTRA,
  UNKNOWN_ID,
  writeEnvelope,
  writePubEnvelope,
} from '../../src/protocol/delivery-frames.js';

const NOBODY = { id: 0, uid: UNKNOWN_ID, pid: UNKNOWN_ID };
import { ErrorCode } from '../../src/protocol/errors.js';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import {
  decodePub,
  decodeReq,
  decodeRes,
  decodeSend,
  encodePub,
  encodeReq,
  encodeRes,
  encodeSend,
  messageTail,
} from '../../src/protocol/message-frames.js';
import { readVarint } from '../../src/protocol/varint.js';
import { isBusError } from '../helpers/mem-conn.js';

const SEED = { seed: 42, numRuns: 300 };

/** The one body of a whole frame. */
function body(f: Uint8Array): Uint8Array {
  const bodies: Uint8Array[] = [];
  new FrameDecoder(1 << 20).push(f, (b) => bodies.push(b.slice()));
  assert.equal(bodies.length, 1);
  return bodies[0]!;
}

const token = fc.stringMatching(/^[!-)+-=?-~]{1,8}$/).filter((t) => !t.includes('.'));
const subject = fc
  .array(token, { minLength: 1, maxLength: 5 })
  .map((t) => t.join('.'))
  .filter((s) => s.length <= 255);
const payload = fc.uint8Array({ maxLength: 300 });
const priority = fc.integer({ min: 0, max: 255 });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u53 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const extras = fc.record(
  {
    type: u32,
    headers: fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 20 }), {
      maxKeys: 4,
    }),
  },
  { requiredKeys: [] },
);

/** What a decoder reports for extras that were (or were not) sent. */
function expectExtras(e: { type?: number; headers?: Record<string, string> }): {
  type: number | undefined;
  headers: Record<string, string> | undefined;
} {
  return {
    type: e.type,
    headers:
      e.headers === undefined
        ? undefined
        : (Object.assign(Object.create(null), e.headers) as Record<string, string>),
  };
}

void test('PUB, REQ, RES and SEND decode to what was encoded', () => {
  fc.assert(
    fc.property(subject, payload, priority, extras, u32, u32, u53, (s, p, prio, e, a, b, tok) => {
      const x = expectExtras(e);
      const pub = decodePub(body(encodePub(s, p, prio, e)));
      assert.deepEqual(pub, { flags: pub.flags, priority: prio, subject: s, ...x, data: p });
      const reqBody = body(encodeReq(a, b, s, p, prio, e));
      const req = decodeReq(reqBody);
      assert.deepEqual([req.reqId, req.timeoutMs, req.subject, req.priority], [a, b, s, prio]);
      assert.deepEqual(messageTail(reqBody, req), { ...x, data: p });
      const resBody = body(encodeRes(tok, ResStatus.ERROR, p, e));
      const res = decodeRes(resBody);
      assert.deepEqual([res.token, res.status], [tok, ResStatus.ERROR]);
      assert.deepEqual(messageTail(resBody, res), { ...x, data: p });
      const sendBody = body(encodeSend(a, p, prio, e));
      const send = decodeSend(sendBody);
      assert.deepEqual([send.to, send.priority], [a, prio]);
      assert.deepEqual(messageTail(sendBody, send), { ...x, data: p });
    }),
    SEED,
  );
});

void test('the envelope of a PUB carries its fields into MSG, for any sid', () => {
  fc.assert(
    fc.property(
      subject,
      payload,
      priority,
      extras,
      u32,
      u53,
      u32,
      fc.tuple(fc.integer({ min: 0, max: 0xfffffffe }), fc.integer({ min: 0, max: 0xfffffffe })),
      (s, p, prio, e, from, id, sid, [uid, pid]) => {
        const pubBody = body(encodePub(s, p, prio, e));
        const env = new Uint8Array(pubBody.length + PUB_ENVELOPE_EXTRA + 4).fill(0xee);
        writePubEnvelope(env, 2, { id: from, uid, pid }, id, pubBody, 0, pubBody.length);
        const msg = decodeMsg(
          body(encodeMsg(sid, env.subarray(2, 2 + pubBody.length + PUB_ENVELOPE_EXTRA))),
        );
        assert.deepEqual(msg, {
          sid,
          flags: pubBody[1],
          priority: prio,
          from,
          uid,
          pid,
          id,
          subject: s,
          token: 0,
          ...expectExtras(e),
          data: p,
        });
      },
    ),
    SEED,
  );
});

void test('writeEnvelope: requests carry their token, direct messages no subject', () => {
  fc.assert(
    fc.property(subject, payload, u53, u53, fc.boolean(), (s, p, id, tok, request) => {
      const subj = request ? new TextEncoder().encode(s) : new Uint8Array(0);
      const flags = request ? Flag.REPLY : Flag.BROADCAST;
      const env = new Uint8Array(envelopeSize(subj.length, flags, p.length));
      assert.equal(
        writeEnvelope(env, 0, flags, 9, { id: 3, uid: UNKNOWN_ID, pid: 77 }, id, subj, tok, p),
        env.length,
      );
      const msg = decodeMsg(body(encodeMsg(request ? 2 : 0, env)));
      assert.equal(msg.subject, request ? s : '');
      assert.equal(msg.token, request ? tok : 0);
      assert.deepEqual(
        [msg.flags, msg.priority, msg.from, msg.uid, msg.pid, msg.id],
        [flags, 9, 3, undefined, 77, id],
      );
      assert.deepEqual(msg.data, p);
    }),
    SEED,
  );
});

void test('REPLY and GAP decode to what was encoded', () => {
  const statuses = fc.constantFrom(...Object.values(ReplyStatus));
  fc.assert(
    fc.property(
      u32,
      statuses,
      u32,
      payload,
      u53,
      u53,
      u53,
      (reqId, st, from, p, sid, lost, first) => {
        const sender = { id: from, uid: 1000, pid: UNKNOWN_ID };
        assert.deepEqual(decodeReply(body(encodeReply(reqId, st, 0, sender, p))), {
          reqId,
          status: st,
          from,
          uid: 1000,
          pid: undefined,
          type: undefined,
          headers: undefined,
          data: p,
        });
        const gap = { sid: sid % 0xffffffff, lost, firstId: first, lastId: first };
        assert.deepEqual(decodeGap(body(encodeGap(gap.sid, lost, first, first))), gap);
      },
    ),
    SEED,
  );
});

void test('an unknown REPLY status is a protocol error', () => {
  assert.throws(
    () => decodeReply(body(encodeReply(1, 99, 0, NOBODY, new Uint8Array(0)))),
    (e) => isBusError(e, ErrorCode.PROTOCOL) && /unknown status 99/.test((e as Error).message),
  );
});

void test('varints must be minimal: frame lengths, sids and header counts', () => {
  const refused = (f: () => unknown): void =>
    assert.throws(
      f,
      (e) => isBusError(e, ErrorCode.PROTOCOL) && /shortest/.test((e as Error).message),
    );
  // Frame length 2 written as 0x82 0x00.
  refused(() =>
    new FrameDecoder(1024).push(Uint8Array.from([0x82, 0x00, Op.PING, 0]), () => undefined),
  );
  // The same split across two reads.
  const d = new FrameDecoder(1024);
  d.push(Uint8Array.from([0x81]), () => undefined);
  refused(() => d.push(Uint8Array.from([0x00, Op.PING]), () => undefined));
  refused(() => readVarint(Uint8Array.from([0x80, 0x80, 0x00]), 0, { next: 0 }));
  assert.equal(readVarint(Uint8Array.from([0x00]), 0, { next: 0 }), 0);
  assert.equal(readVarint(Uint8Array.from([0x80, 0x01]), 0, { next: 0 }), 128);
  // A MSG whose sid 1 is written in two bytes.
  const msg = encodeMsg(1, new Uint8Array(15));
  const padded = Uint8Array.from([msg[0]! + 1, Op.MSG, 0x81, 0x00, ...msg.subarray(3)]);
  refused(() => decodeMsg(body(padded)));
});
