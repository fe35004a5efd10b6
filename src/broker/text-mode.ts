// Text mode: a connection whose first bytes are a text line (`echo hello`, from socat or nc)
// instead of a binary HELLO. Each line becomes the binary frame a client would have sent, fed
// through the same decoder and handlers (same limits, same policies: text-input.ts); what the
// broker sends back is rendered as lines by TextConn (text-conn.ts), which wraps the socket's
// Conn. Replies come through the session's own output queue, so they keep the order of the
// commands. This file: telling text from binary, and what both sides share. docs/PROTOCOL.md
// section 15. Imports protocol/ only.

import { Op, PROTOCOL_VERSION } from '../protocol/constants.js';
import { encodeBare, encodeHello } from '../protocol/control-frames.js';

/** The first bytes of a connection: a text line, a binary frame, or too few bytes to tell. */
export type Sniffed = 'text' | 'binary' | 'more';

/**
 * Whether a connection speaks text: its first byte is an ASCII letter and the second is not
 * 0x01 (a binary HELLO with a one-byte length has the HELLO op there).
 */
export function sniff(bytes: Uint8Array): Sniffed {
  const b = bytes[0];
  if (b === undefined) return 'more';
  const letter = (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
  if (!letter) return 'binary';
  const c = bytes[1];
  if (c === undefined) return 'more';
  return c === Op.HELLO ? 'binary' : 'text';
}

/** The HELLO a text session is given: it never sends one. */
export const TEXT_HELLO = encodeHello(PROTOCOL_VERSION, { name: 'text' });

/** How long `req` waits for a reply, ms. */
export const TEXT_REQUEST_TIMEOUT_MS = 5000;

export const HELP = [
  'help                       this list',
  'echo TEXT                  the daemon answers TEXT',
  'pub SUBJECT [DATA]         publish DATA (escapes: \\\\ \\n \\r \\t \\0 \\xHH)',
  'sub PATTERN [QUEUE]        subscribe; messages arrive as MSG SUBJECT DATA',
  'unsub PATTERN|SID          end a subscription',
  'req SUBJECT [DATA]         request; answer: REPLY DATA, or -ERR',
  'get KEY                    a shared-state value: VALUE KEY REV DATA',
  'set KEY [DATA]             set a shared-state value: +OK REV',
  'del KEY                    delete a shared-state value: +OK REV',
  'watch PATTERN              current values, then changes: STATE OP KEY REV [DATA]',
  'start_timer NAME MS [SUBJECT] [COUNT]  a daemon timer: ticks on timer.NAME (or SUBJECT)',
  'stop_timer NAME            stop a daemon timer',
  'timers                     the daemon timers as one JSON line',
  'trigger EVENT [DATA]       the daemon publishes DATA on event.EVENT',
  'status                     the daemon status as one JSON line',
  'quit                       close the connection',
].join('\n');

/** What a pending call id prints when its answer arrives. */
export const Kind = {
  OK: 0,
  ECHO: 1,
  JSON: 2,
  HELP: 3,
  QUIT: 4,
  EOF: 5,
  VALUE: 6,
  REVISION: 7,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** The PONG a text session answers the daemon's PING with. */
export const TEXT_PONG = encodeBare(Op.PONG);
