// The client's whole receive path, in process: bytes from a scripted link through the frame
// decoder, inbound dispatch, MsgView and the subscription to a callback that reads msg.data.

import { connect } from '../../src/client/client.js';
import { PROTOCOL_VERSION } from '../../src/protocol/constants.js';
import { encodeServerHello } from '../../src/protocol/control-frames.js';
import type { Dialer, LinkHandlers } from '../../src/transport/link.js';
import { STREAM_MSGS, stream } from './codec.js';
import type { Micro } from './harness.js';

let handlers: LinkHandlers | undefined;
const hello = encodeServerHello({
  version: PROTOCOL_VERSION,
  server: 'bench',
  serverVersion: '0',
  id: 1,
  maxFrame: 1 << 20,
  pingMs: 0,
});
/** A link that answers the HELLO and swallows everything else. */
const dial: Dialer = (_path, h) => {
  handlers = h;
  let greeted = false;
  queueMicrotask(() => h.connect());
  return {
    write(_bytes, onFlushed) {
      if (!greeted) {
        greeted = true;
        queueMicrotask(() => h.data(hello));
      }
      onFlushed?.(null);
      return true;
    },
    pause: () => undefined,
    resume: () => undefined,
    end: () => undefined,
    destroy: () => undefined,
  };
};

const client = await connect({ dial, reconnect: false });
let bytes = 0;
client.subscribe('bench.>', (msg) => {
  bytes += msg.data.length;
}); // sid 1, as in the stream

export const clientMicros: Micro[] = [
  {
    name: 'client receive',
    op: 'one 64 B MSG from link bytes to a subscription callback reading msg.data',
    ops: STREAM_MSGS * 100,
    run(ops) {
      for (let i = 0; i < ops / STREAM_MSGS; i++) handlers!.data(stream);
      return bytes;
    },
  },
];
