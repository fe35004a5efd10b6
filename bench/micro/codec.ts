// Codec micro-benchmarks: the frame decoder over a stream of 64-byte MSG frames (with and
// without decoding each MSG in place), and the daemon's PUB parse plus envelope copy.

import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import {
  decodeMsgAt,
  PUB_ENVELOPE_EXTRA,
  msgFrameSize,
  writeMsgHead,
  writePubEnvelope,
} from '../../src/protocol/delivery-frames.js';
import { encodePub, PubLayout, readPub } from '../../src/protocol/message-frames.js';
import { MsgView } from '../../src/protocol/msg-view.js';
import type { Micro } from './harness.js';

const PAYLOAD = new Uint8Array(64).fill(0x61);
const SUBJECT = 'bench.subject';

/** Where the body of a whole frame starts: after its length varint. */
function bodyStart(frame: Uint8Array): number {
  let i = 0;
  while (frame[i]! >= 0x80) i++;
  return i + 1;
}

/** The sender stamped on every benchmark message: client 7, a uid and a pid. */
const SENDER = { id: 7, uid: 1000, pid: 4242 };

/** `count` whole MSG frames back to back, as a subscriber's socket delivers them. */
function msgStream(count: number): Uint8Array {
  const pub = encodePub(SUBJECT, PAYLOAD);
  const start = bodyStart(pub);
  const envLen = pub.length - start + PUB_ENVELOPE_EXTRA;
  const one = msgFrameSize(1, envLen);
  const out = new Uint8Array(one * count);
  for (let i = 0; i < count; i++) {
    const off = writeMsgHead(out, i * one, 1, envLen);
    writePubEnvelope(out, off, SENDER, i + 1, pub, start, pub.length);
  }
  return out;
}

const STREAM_MSGS = 4096;
/** A stream of MSG frames for subscription 1 on `bench.subject`, 64 B payloads. */
export const stream = msgStream(STREAM_MSGS);
export { STREAM_MSGS };

export const codecMicros: Micro[] = [
  {
    name: 'frame decoder',
    op: 'split one 64 B MSG frame out of a 4,096-frame chunk',
    ops: STREAM_MSGS * 200,
    run(ops) {
      const dec = new FrameDecoder(1 << 20);
      let n = 0;
      for (let i = 0; i < ops / STREAM_MSGS; i++)
        dec.pushRanges(stream, (_b, s, e) => {
          n += e - s;
        });
      return n;
    },
  },
  {
    name: 'frame decoder + decodeMsgAt',
    op: 'split and decode one 64 B MSG into a plain object (the client before MsgView)',
    ops: STREAM_MSGS * 100,
    run(ops) {
      const dec = new FrameDecoder(1 << 20);
      let n = 0;
      for (let i = 0; i < ops / STREAM_MSGS; i++)
        dec.pushRanges(stream, (b, s, e) => {
          n += decodeMsgAt(b, s, e).data.length;
        });
      return n;
    },
  },
  {
    name: 'frame decoder + MsgView',
    op: 'split one 64 B MSG and read its data as the client does (fields read on use)',
    ops: STREAM_MSGS * 100,
    run(ops) {
      const dec = new FrameDecoder(1 << 20);
      let n = 0;
      for (let i = 0; i < ops / STREAM_MSGS; i++)
        dec.pushRanges(stream, (b, s, e) => {
          n += new MsgView(b, s, e).data.length;
        });
      return n;
    },
  },
  {
    name: 'PUB parse + envelope copy',
    op: 'readPub and writePubEnvelope of one 64 B PUB into a MSG',
    ops: 1_000_000,
    run(ops) {
      const pub = encodePub(SUBJECT, PAYLOAD);
      const start = bodyStart(pub);
      const layout = new PubLayout();
      const envLen = pub.length - start + PUB_ENVELOPE_EXTRA;
      const size = msgFrameSize(1, envLen);
      const out = new Uint8Array(size * 256);
      for (let i = 0; i < ops; i++) {
        readPub(pub, start, pub.length, layout);
        const at = (i & 255) * size;
        writePubEnvelope(out, writeMsgHead(out, at, 1, envLen), SENDER, i, pub, start, pub.length);
      }
      return out[3];
    },
  },
];
