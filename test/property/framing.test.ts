// Property tests (fast-check, fixed seed) of framing, the CBOR guard and the broker's input handling under arbitrary bytes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Broker } from '../../src/broker/broker.js';
import { decodeCbor, encodeCbor } from '../../src/protocol/cbor.js';
import { BusError, ErrorCode } from '../../src/protocol/errors.js';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { Op, PROTOCOL_VERSION } from '../../src/protocol/constants.js';
import {
  decodeCall,
  decodeClientHello,
  decodeError,
  decodeServerHello,
  decodeSub,
  decodeUnsub,
  encodeHello,
  frame,
} from '../../src/protocol/control-frames.js';
import { MemPeer } from '../helpers/mem-conn.js';
import { sniff } from '../../src/broker/text-mode.js';

const params = { seed: 42, numRuns: 200 };

/** Node's own concatenation; a plain Uint8Array view of it. */
const concat = (parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

/** Splits `bytes` at the given cut points (any order, any range). */
function chunk(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}

function decodeChunks(maxFrame: number, chunks: Uint8Array[]): number[][] {
  const dec = new FrameDecoder(maxFrame);
  const out: number[][] = [];
  for (const c of chunks) dec.push(c, (b) => out.push([...b]));
  return out;
}

const frameCodes = new Set<string>([ErrorCode.PROTOCOL, ErrorCode.FRAME_TOO_LARGE]);

void test('(a) any chunking of a stream of valid frames decodes to the same bodies as decoding it whole', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 12 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      (bodies, cuts) => {
        const stream = concat(bodies.map(frame));
        const whole = decodeChunks(1024, [stream]);
        assert.deepEqual(
          whole,
          bodies.map((b) => [...b]),
        );
        assert.deepEqual(decodeChunks(1024, chunk(stream, cuts)), whole);
      },
    ),
    params,
  );
});

void test('(b) random bytes into a FrameDecoder yield frames within limits or a BusError PROTOCOL / FRAME_TOO_LARGE', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 600 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      fc.constantFrom(1, 64, 200, 1 << 20),
      (bytes, cuts, maxFrame) => {
        const dec = new FrameDecoder(maxFrame);
        try {
          for (const c of chunk(bytes, cuts)) {
            dec.push(c, (b) => {
              assert.ok(b.length >= 1 && b.length <= maxFrame, `frame of ${b.length} bytes`);
            });
          }
        } catch (err) {
          if (err instanceof assert.AssertionError) throw err;
          assert.ok(err instanceof BusError, `not a BusError: ${String(err)}`);
          assert.ok(frameCodes.has(err.code), err.code);
          // And it stays failed.
          assert.throws(
            () => dec.push(Uint8Array.from([1, 1]), () => assert.fail()),
            (e) => e instanceof BusError && e.code === ErrorCode.PROTOCOL,
          );
        }
      },
    ),
    params,
  );
});

/** A broker whose flushes run when the test says so (keeps properties synchronous). */
function syncBroker(maxFrame: number): { broker: Broker; flush: () => void; logs: string[] } {
  const pending: (() => void)[] = [];
  const logs: string[] = [];
  const broker = new Broker({
    maxFrame,
    schedule: (fn) => pending.push(fn),
    log: (l) => logs.push(l),
    handshakeTimeoutMs: 60_000,
  });
  const flush = (): void => {
    while (pending.length > 0) pending.shift()!();
  };
  return { broker, flush, logs };
}

/**
 * Feeds chunks to a fresh session and checks the outcome: data() never throws, the output is
 * valid frames, at most one fatal ERROR (with an allowed code) and it comes with end().
 */
function feedBroker(chunks: Uint8Array[], withHello: boolean, fatalCodes: Set<string>): void {
  const { broker, flush, logs } = syncBroker(512);
  const peer = new MemPeer(broker);
  if (withHello) {
    peer.send(encodeHello(PROTOCOL_VERSION, { name: 'fuzz' }));
    flush();
    assert.equal(peer.frames[0]?.[0], Op.HELLO);
    peer.reset();
  }
  for (const c of chunks) {
    assert.doesNotThrow(() => peer.events.data(c));
    flush();
  }
  assert.equal(peer.decodeFailure, undefined, 'the broker wrote something that is not a frame');
  assert.deepEqual(
    logs.filter((l) => l.includes('internal error')),
    [],
  );
  const errors = peer.ofOp(Op.ERROR).map(decodeError);
  const fatal = errors.filter((e) => e.fatal);
  assert.ok(fatal.length <= 1, 'at most one fatal ERROR');
  for (const e of errors.filter((x) => !x.fatal)) {
    assert.ok(
      [ErrorCode.BAD_SUBJECT, ErrorCode.NO_SUCH_CLIENT, ErrorCode.LIMIT].includes(e.code as never),
      e.code,
    );
  }
  if (peer.ended) {
    assert.equal(fatal.length, 1, 'the broker closed without a fatal ERROR');
    assert.ok(fatalCodes.has(fatal[0]!.code), `${fatal[0]!.code}: ${fatal[0]!.message}`);
  } else {
    assert.equal(fatal.length, 0, 'a fatal ERROR without end()');
  }
  peer.close();
}

void test('(b) random bytes into the broker after a valid HELLO: never throws; rejection is a fatal PROTOCOL / FRAME_TOO_LARGE', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 600 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      (bytes, cuts) => {
        feedBroker(chunk(bytes, cuts), true, frameCodes);
      },
    ),
    params,
  );
});

void test('(c) random bytes as a CBOR control body: decodeCbor returns or throws BusError BUS_ERR_PROTOCOL', () => {
  const mutatedCbor = fc
    .tuple(fc.jsonValue({ maxDepth: 4 }), fc.nat(), fc.integer({ min: 0, max: 255 }))
    .map(([v, at, byte]) => {
      const b = encodeCbor(v).slice();
      if (b.length > 0) b[at % b.length] = byte;
      return b;
    });
  const input = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    mutatedCbor,
    fc.jsonValue({ maxDepth: 4 }).map(encodeCbor),
  );
  const protocolOnly = (fn: () => unknown): void => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof BusError, `not a BusError: ${String(err)}`);
      assert.equal(err.code, ErrorCode.PROTOCOL);
    }
  };
  fc.assert(
    fc.property(input, (bytes) => {
      protocolOnly(() => decodeCbor(bytes));
      // The control-frame decoders on top of it refuse with the same code.
      for (const [op, decode] of [
        [Op.SUB, decodeSub],
        [Op.UNSUB, decodeUnsub],
        [Op.CALL, decodeCall],
        [Op.ERROR, decodeError],
      ] as const) {
        protocolOnly(() => decode(Uint8Array.from([op, ...bytes])));
      }
      // A HELLO with no CBOR byte at all is too short to be a HELLO: see the regression below.
      if (bytes.length > 0) {
        const hello = Uint8Array.from([Op.HELLO, 0x55, 0x44, 0x53, 0x42, 1, ...bytes]);
        protocolOnly(() => decodeClientHello(hello));
        protocolOnly(() => decodeServerHello(hello));
      }
    }),
    { ...params, numRuns: 500 },
  );
});

/** Frames that look like real ones: a known op, a random body, a correct length prefix. */
const plausibleFrame = fc
  .tuple(
    fc.constantFrom(...Object.values(Op), 0x00, 0x55),
    fc.uint8Array({ maxLength: 40 }),
    fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined }),
  )
  .map(([op, rest, json]) => {
    const tail = json === undefined ? rest : encodeCbor(json);
    return frame(Uint8Array.from([op, ...tail]));
  });

void test('(d) the broker never throws out of data(chunk) for random input and sends a fatal ERROR when it rejects', () => {
  const stream = fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 400 }),
    fc.array(plausibleFrame, { minLength: 1, maxLength: 15 }).map(concat),
  );
  // After a valid HELLO.
  fc.assert(
    fc.property(stream, fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
      feedBroker(chunk(bytes, cuts), true, frameCodes);
    }),
    params,
  );
  // Before any HELLO: the handshake codes are allowed too. (Bytes that start like a text line
  // open a text-mode session instead: the next property.)
  const handshakeCodes = new Set<string>([...frameCodes, ErrorCode.HANDSHAKE, ErrorCode.VERSION]);
  fc.assert(
    fc.property(stream, fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
      fc.pre(sniff(bytes) !== 'text');
      feedBroker(chunk(bytes, cuts), false, handshakeCodes);
    }),
    params,
  );
});

void test('(e) random lines into a text-mode session: never throws; output is whole lines, one answer per command', () => {
  const word = fc.constantFrom('echo', 'pub', 'sub', 'unsub', 'req', 'status', 'help', 'PUB', 'x');
  const line = fc
    .tuple(word, fc.uint8Array({ maxLength: 60 }))
    .map(([w, rest]) => concat([Buffer.from(w + ' '), rest.filter((b) => b !== 0x0a)]));
  fc.assert(
    fc.property(
      fc.array(line, { minLength: 1, maxLength: 12 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      (lines, cuts) => {
        const { broker, flush, logs } = syncBroker(4096);
        const peer = new TextPeer(broker);
        const input = concat(lines.flatMap((l) => [l, Uint8Array.of(0x0a)]));
        fc.pre(sniff(input) === 'text');
        for (const c of chunk(input, cuts)) {
          assert.doesNotThrow(() => peer.events.data(c));
          flush();
        }
        assert.deepEqual(
          logs.filter((l) => l.includes('internal error')),
          [],
        );
        const out = Buffer.concat(peer.writes).toString('utf8');
        assert.ok(out === '' || out.endsWith('\n'), 'output ends with a whole line');
        const answers = out.split('\n').filter((l) => /^(\+OK|-ERR )/.test(l));
        // Every command but echo, req and help answers +OK or -ERR once: at least one per line
        // that is not one of those, at most one per line plus help's own +OK.
        assert.ok(
          answers.length <= lines.length,
          `${answers.length} answers for ${lines.length} lines`,
        );
        peer.events.close();
      },
    ),
    params,
  );
});

/** A raw peer that records the bytes the broker writes (text, not frames). */
class TextPeer {
  readonly events: ReturnType<Broker['attach']>;
  readonly writes: Uint8Array[] = [];
  constructor(broker: Broker) {
    this.events = broker.attach(this);
  }
  write(bytes: Uint8Array): boolean {
    this.writes.push(bytes.slice());
    return true;
  }
  pause(): void {}
  resume(): void {}
  end(): void {}
  destroy(): void {}
}

void test('regression (shrunk counterexample of (c)): an empty CBOR body', () => {
  const isCode = (code: string) => (e: unknown) => e instanceof BusError && e.code === code;
  assert.throws(() => decodeCbor(new Uint8Array(0)), isCode(ErrorCode.PROTOCOL));
  assert.throws(() => decodeSub(Uint8Array.from([Op.SUB])), isCode(ErrorCode.PROTOCOL));
  // A HELLO that ends right after its version byte is not a HELLO at all.
  const bare = Uint8Array.from([Op.HELLO, 0x55, 0x44, 0x53, 0x42, 1]);
  assert.throws(() => decodeClientHello(bare), isCode(ErrorCode.HANDSHAKE));
  assert.throws(() => decodeServerHello(bare), isCode(ErrorCode.HANDSHAKE));
});
