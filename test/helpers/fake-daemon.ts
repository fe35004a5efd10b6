// A scripted daemon for client unit tests: attaches through the memory transport's structural
// seam, answers HELLO, and lets a test decide what every other frame gets. No broker, no sockets.

import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { Op, PROTOCOL_VERSION } from '../../src/protocol/constants.js';
import { encodeServerHello } from '../../src/protocol/control-frames.js';
import type { Attachable, Conn, ConnEvents } from '../../src/protocol/conn.js';

/** One connection to the fake daemon. */
export interface FakeConn {
  conn: Conn;
  /** Frame bodies received after the HELLO, copied. */
  frames: Uint8Array[];
  id: number;
}

/** Answers HELLO; hands every later frame to `onFrame` (default: records it only). */
export class FakeDaemon implements Attachable {
  readonly conns: FakeConn[] = [];
  onFrame: (c: FakeConn, body: Uint8Array) => void = () => undefined;

  attach(conn: Conn): ConnEvents {
    const c: FakeConn = { conn, frames: [], id: this.conns.length + 1 };
    this.conns.push(c);
    const decoder = new FrameDecoder(1024 * 1024);
    let hello = false;
    return {
      data: (chunk) =>
        decoder.push(chunk, (body) => {
          if (!hello) {
            hello = body[0] === Op.HELLO;
            conn.write(
              encodeServerHello({
                version: PROTOCOL_VERSION,
                server: 'fake',
                serverVersion: '0.0.0',
                id: c.id,
                maxFrame: 1024 * 1024,
                pingMs: 0,
              }),
            );
            return;
          }
          const copy = body.slice();
          c.frames.push(copy);
          this.onFrame(c, copy);
        }),
      drain: () => undefined,
      close: () => undefined,
    };
  }

  /** Frames of op `op` received on every connection. */
  ofOp(op: number): Uint8Array[] {
    return this.conns.flatMap((c) => c.frames.filter((f) => f[0] === op));
  }
}
