// In-memory Conn for broker tests: records what the broker writes and decodes it as a client
// would (FrameDecoder), and lets a test feed bytes into the broker. No sockets. It attaches
// through the same structural seam (protocol/conn.ts) as src/transport/memory.ts.

import type { Attachable, Conn, ConnEvents, PeerCredentials } from '../../src/protocol/conn.js';
import { BusError } from '../../src/protocol/errors.js';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { Op, PROTOCOL_VERSION } from '../../src/protocol/constants.js';
import {
  decodeCallReply,
  decodeError,
  decodeServerHello,
  encodeHello,
  type ErrorFields,
  type ServerHello,
} from '../../src/protocol/control-frames.js';
import {
  decodeGap,
  decodeMsg,
  decodeReply,
  type GapFields,
  type MsgFields,
  type ReplyFields,
} from '../../src/protocol/delivery-frames.js';

/** Resolves after pending microtasks and one macrotask turn (the broker's flush has run). */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** One fake client: the Conn the broker writes to, and the events it exposes to the transport. */
export class MemPeer implements Conn {
  readonly events: ConnEvents;
  /** Every chunk the broker passed to write(), as given (not copied). */
  readonly writes: Uint8Array[] = [];
  /** Every frame body the broker sent, copied, in order. */
  readonly frames: Uint8Array[] = [];
  readonly decoder = new FrameDecoder(64 * 1024 * 1024);
  /** Set when the broker's output could not be decoded as frames. */
  decodeFailure: unknown;
  /** What write() returns; set false to simulate a saturated socket. */
  writeResult = true;
  paused = false;
  ended = false;
  destroyed = false;
  /** Client id from the daemon's HELLO, once `hello()` succeeded. */
  id = 0;

  /** The kernel credentials the broker sees for this peer (none: like a transport without them). */
  readonly peer: PeerCredentials | undefined;

  constructor(broker: Attachable, peer?: PeerCredentials) {
    this.peer = peer;
    this.events = broker.attach(this);
  }

  write(bytes: Uint8Array): boolean {
    this.writes.push(bytes);
    try {
      this.decoder.push(bytes, (body) => this.frames.push(body.slice()));
    } catch (err) {
      this.decodeFailure = err;
    }
    return this.writeResult;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  end(): void {
    this.ended = true;
  }

  destroy(): void {
    this.destroyed = true;
  }

  /** Feeds bytes to the broker as if they came from the socket. */
  send(...chunks: Uint8Array[]): void {
    for (const c of chunks) this.events.data(c);
  }

  /** Tells the broker the connection is gone (what the transport does after end/destroy). */
  close(): void {
    this.events.close();
  }

  /** Frame bodies received so far with op `op`. */
  ofOp(op: number): Uint8Array[] {
    return this.frames.filter((b) => b[0] === op);
  }

  msgs(): MsgFields[] {
    return this.ofOp(Op.MSG).map((b) => decodeMsg(b));
  }

  replies(): ReplyFields[] {
    return this.ofOp(Op.REPLY).map(decodeReply);
  }

  errors(): ErrorFields[] {
    return this.ofOp(Op.ERROR).map(decodeError);
  }

  gaps(): GapFields[] {
    return this.ofOp(Op.GAP).map(decodeGap);
  }

  callReplies(): ReturnType<typeof decodeCallReply>[] {
    return this.ofOp(Op.CALL_REPLY).map((b) => decodeCallReply(b));
  }

  /** Empties the record of received frames. */
  reset(): void {
    this.frames.length = 0;
    this.writes.length = 0;
  }
}

/** Attaches a peer, sends a HELLO, waits for the daemon's HELLO and returns the peer (frames cleared). */
export async function helloPeer(broker: Attachable, name = 'test'): Promise<MemPeer> {
  const peer = new MemPeer(broker);
  peer.send(encodeHello(PROTOCOL_VERSION, { name, pid: 1 }));
  await tick();
  const first = peer.frames[0];
  if (first?.[0] !== Op.HELLO) {
    throw new Error(
      `expected a HELLO reply, got ${first === undefined ? 'nothing' : `op 0x${first[0]?.toString(16)}`}`,
    );
  }
  const hello: ServerHello = decodeServerHello(first);
  peer.id = hello.id;
  peer.reset();
  return peer;
}

/** True when `err` is a BusError (for assert.throws predicates). */
export function isBusError(err: unknown, code: string): boolean {
  return err instanceof BusError && err.code === code;
}
