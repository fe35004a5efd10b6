// Text mode: a connection whose first bytes are a text line (`echo hello`, from socat or nc)
// instead of a binary HELLO. Each line becomes the binary frame a client would have sent, fed
// through the same decoder and handlers (same limits, same policies); what the broker sends
// back is rendered as lines by TextConn, which wraps the socket's Conn. Replies come through
// the session's own output queue, so they keep the order of the commands. docs/PROTOCOL.md
// section 15. Imports protocol/ and broker/ only.

import { textEncoder } from '../protocol/bytes.js';
import { DAEMON_REPLY_LIMITS } from '../protocol/cbor.js';
import { Op, PROTOCOL_VERSION, REPLY_STATUS_ERRORS, ReplyStatus } from '../protocol/constants.js';
import type { Conn, PeerCredentials } from '../protocol/conn.js';
import {
  decodeCallReply,
  decodeError,
  encodeBare,
  encodeCall,
  encodeCallReply,
  encodeHello,
  encodeSub,
  encodeUnsub,
} from '../protocol/control-frames.js';
import { decodeGap, decodeMsg, decodeReply } from '../protocol/delivery-frames.js';
import { ErrorCode, type WireErrorCode } from '../protocol/errors.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { encodePub, encodeReq } from '../protocol/message-frames.js';
import { MAX_SUBJECT } from '../protocol/subject.js';
import { STATE_PREFIX } from '../protocol/state.js';
import { escapeBytes, unescapeLine } from '../protocol/text-escape.js';
import { Flag } from '../protocol/constants.js';

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

const HELP = [
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
const Kind = { OK: 0, ECHO: 1, JSON: 2, HELP: 3, QUIT: 4, EOF: 5, VALUE: 6, REVISION: 7 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];

/**
 * The Conn a text session's broker output goes through: binary frames in, lines out, written
 * to the socket's Conn with its backpressure passed back.
 */
export class TextConn implements Conn {
  readonly #inner: Conn;
  readonly #decoder = new FrameDecoder(Number.MAX_SAFE_INTEGER);
  /** What each call id prints (one per command that answers through a CALL_REPLY). */
  readonly #pending = new Map<number, Kind>();
  #out: string[] = [];
  /** A non-fatal ERROR was printed since the last command's answer. */
  #errored = false;
  #quit = false;
  /** Requests sent and not yet answered by a REPLY. */
  #requests = 0;
  /** The peer's input has ended: close once nothing it asked is unanswered. */
  #endWhenIdle = false;
  onPing: () => void = () => undefined;

  constructor(inner: Conn) {
    this.#inner = inner;
  }

  get peer(): PeerCredentials | undefined {
    return this.#inner.peer;
  }

  expect(cid: number, kind: Kind): void {
    this.#pending.set(cid, kind);
  }

  /** A REQ went out; its REPLY is still to come. */
  requested(): void {
    this.#requests++;
  }

  write(bytes: Uint8Array): boolean {
    this.#decoder.push(bytes, (body) => this.#render(body));
    if (this.#out.length === 0) {
      if (this.#endWhenIdle && this.#requests === 0 && this.#pending.size === 0) this.#inner.end();
      return true;
    }
    const text = this.#out.join('');
    this.#out = [];
    const ok = this.#inner.write(textEncoder.encode(text));
    if (this.#quit || (this.#endWhenIdle && this.#requests === 0 && this.#pending.size === 0)) {
      this.#inner.end();
    }
    return ok;
  }

  #line(s: string): void {
    this.#out.push(s, '\n');
  }

  #render(body: Uint8Array): void {
    switch (body[0]) {
      case Op.MSG: {
        const m = decodeMsg(body);
        const data = escapeBytes(m.data);
        const op = m.headers?.['op'];
        if (op !== undefined && m.subject.startsWith(STATE_PREFIX)) {
          const key = m.subject.slice(STATE_PREFIX.length);
          const rev = m.headers?.['rev'] ?? '?';
          this.#line(
            op === 'del' ? `STATE del ${key} ${rev}` : `STATE ${op} ${key} ${rev} ${data}`,
          );
          return;
        }
        if (m.sid !== 0) this.#line(`MSG ${m.subject} ${data}`);
        else
          this.#line(
            `${(m.flags & Flag.BROADCAST) !== 0 ? 'BROADCAST' : 'DIRECT'} ${m.from} ${data}`,
          );
        return;
      }
      case Op.REPLY: {
        const r = decodeReply(body);
        this.#requests--;
        if (r.status === ReplyStatus.OK) this.#line(`REPLY ${escapeBytes(r.data)}`);
        else {
          const code = REPLY_STATUS_ERRORS[r.status] ?? ErrorCode.PROTOCOL;
          const why = r.data.length > 0 ? escapeBytes(r.data) : replyWhy(r.status);
          this.#line(`-ERR ${code} ${why}`);
        }
        return;
      }
      case Op.CALL_REPLY:
        this.#callReply(body);
        return;
      case Op.ERROR: {
        const e = decodeError(body);
        this.#line(`-ERR ${e.code} ${escapeBytes(textEncoder.encode(e.message))}`);
        this.#errored = true;
        return;
      }
      case Op.GAP: {
        const g = decodeGap(body);
        this.#line(`GAP ${g.sid} ${g.lost}`);
        return;
      }
      case Op.PING:
        this.onPing();
        return;
      default:
        return; // the daemon's HELLO, PONG
    }
  }

  #callReply(body: Uint8Array): void {
    const r = decodeCallReply(body, DAEMON_REPLY_LIMITS);
    const kind = this.#pending.get(r.cid) ?? Kind.OK;
    this.#pending.delete(r.cid);
    const errored = this.#errored;
    this.#errored = false;
    if (!r.ok) {
      this.#line(
        `-ERR ${r.code ?? ErrorCode.PROTOCOL} ${escapeBytes(textEncoder.encode(r.message ?? ''))}`,
      );
      return;
    }
    switch (kind) {
      case Kind.ECHO: {
        const data = (r.result as { data?: unknown } | undefined)?.data;
        this.#line(data instanceof Uint8Array ? escapeBytes(data) : '');
        return;
      }
      case Kind.VALUE: {
        const v = r.result as { key?: string; value?: unknown; revision?: number };
        const data = v.value instanceof Uint8Array ? escapeBytes(v.value) : '';
        this.#line(`VALUE ${v.key ?? ''} ${v.revision ?? 0} ${data}`);
        return;
      }
      case Kind.REVISION:
        this.#line(`+OK ${(r.result as { revision?: number }).revision ?? 0}`);
        return;
      case Kind.JSON:
        this.#line(`+OK ${JSON.stringify(r.result, jsonBytes)}`);
        return;
      case Kind.HELP:
        this.#line(`${HELP}\n+OK`);
        return;
      case Kind.QUIT:
        this.#line('+OK bye');
        this.#quit = true;
        return;
      case Kind.EOF:
        // Everything queued before the end of input is out: close once the rest is answered.
        this.#endWhenIdle = true;
        return;
      case Kind.OK:
        // The command's frame was refused with an ERROR already printed: no +OK after it.
        if (errored) return;
        this.#line(typeof r.result === 'string' && r.result !== '' ? `+OK ${r.result}` : '+OK');
    }
  }

  pause(): void {
    this.#inner.pause();
  }

  resume(): void {
    this.#inner.resume();
  }

  end(): void {
    this.#inner.end();
  }

  destroy(): void {
    this.#inner.destroy();
  }
}

function replyWhy(status: number): string {
  return status === ReplyStatus.NO_RESPONDERS ? 'no responders' : 'the request failed';
}

function jsonBytes(_key: string, v: unknown): unknown {
  return v instanceof Uint8Array ? escapeBytes(v) : v;
}

/**
 * The input side: splits lines (bounded by `maxLine`), parses each command and hands the
 * frames it stands for to `feed`, followed by the marker its answer prints from.
 */
export class TextInput {
  readonly #conn: TextConn;
  readonly #feed: (frame: Uint8Array) => void;
  /** Queues a frame for this session as the broker would (keeps the order of answers). */
  readonly #answer: (frame: Uint8Array) => void;
  /** Queues a frame after everything queued for this session (the answer to `quit`). */
  readonly #last: (frame: Uint8Array) => void;
  readonly #maxLine: number;
  #quit = false;
  #partial: Uint8Array[] = [];
  #partialLen = 0;
  #nextCid = 1;
  #nextSid = 1;
  #nextReq = 1;
  readonly #subs = new Map<number, string>();

  constructor(
    conn: TextConn,
    feed: (frame: Uint8Array) => void,
    answer: (frame: Uint8Array) => void,
    last: (frame: Uint8Array) => void,
    maxLine: number,
  ) {
    this.#conn = conn;
    this.#feed = feed;
    this.#answer = answer;
    this.#last = last;
    this.#maxLine = maxLine;
  }

  /**
   * Bytes from the socket. Returns an error message when a line is longer than the limit
   * (the connection must then fail), else null.
   */
  push(bytes: Uint8Array): string | null {
    let start = 0;
    while (!this.#quit) {
      const nl = bytes.indexOf(0x0a, start);
      if (nl < 0) break;
      let line = bytes.subarray(start, nl);
      if (this.#partialLen > 0) {
        this.#partial.push(line);
        line = concat(this.#partial, this.#partialLen + line.length);
        this.#partial = [];
        this.#partialLen = 0;
      }
      if (line.length > this.#maxLine) return this.#tooLong();
      this.#command(line[line.length - 1] === 0x0d ? line.subarray(0, line.length - 1) : line);
      start = nl + 1;
    }
    if (start < bytes.length && !this.#quit) {
      const rest = bytes.slice(start);
      this.#partial.push(rest);
      this.#partialLen += rest.length;
      if (this.#partialLen > this.#maxLine) return this.#tooLong();
    }
    return null;
  }

  /**
   * The peer's input ended: a last line without a newline still counts; the connection closes
   * once everything asked before has been answered.
   */
  eof(): void {
    if (this.#quit) return;
    if (this.#partialLen > 0) {
      const line = concat(this.#partial, this.#partialLen);
      this.#partial = [];
      this.#partialLen = 0;
      this.#command(line[line.length - 1] === 0x0d ? line.subarray(0, line.length - 1) : line);
      if (this.#quit) return;
    }
    this.#quit = true;
    const cid = this.#nextCid++;
    this.#conn.expect(cid, Kind.EOF);
    this.#last(encodeCallReply({ cid, ok: true, result: null }));
  }

  #tooLong(): string {
    return `a text line is longer than ${this.#maxLine} bytes (maxFrame)`;
  }

  #marker(kind: Kind, result: unknown = null): void {
    const cid = this.#nextCid++;
    this.#conn.expect(cid, kind);
    this.#answer(encodeCallReply({ cid, ok: true, result }));
  }

  #error(code: WireErrorCode, message: string): void {
    this.#answer(
      encodeCallReply({ cid: this.#nextCid++, ok: false, result: undefined, code, message }),
    );
  }

  #call(kind: Kind, op: string, args: Record<string, unknown> = {}): void {
    const cid = this.#nextCid++;
    this.#conn.expect(cid, kind);
    this.#feed(encodeCall(cid, op, args));
  }

  #command(line: Uint8Array): void {
    if (line.length === 0) return;
    const sp = line.indexOf(0x20);
    const verb = ascii(sp < 0 ? line : line.subarray(0, sp)).toLowerCase();
    const rest = sp < 0 ? new Uint8Array(0) : line.subarray(sp + 1);
    switch (verb) {
      case 'help':
        this.#marker(Kind.HELP);
        return;
      case 'echo': {
        const data = unescapeLine(rest);
        if (typeof data === 'string') return this.#error(ErrorCode.PROTOCOL, data);
        this.#call(Kind.ECHO, 'echo', { data });
        return;
      }
      case 'status':
        this.#call(Kind.JSON, 'status');
        return;
      case 'timers':
        this.#call(Kind.JSON, 'timer.ls');
        return;
      case 'start_timer':
      case 'stop_timer': {
        // The same daemon commands as the CALLs of the binary protocol (commands.ts).
        const [name, ms, subject, count] = ascii(rest)
          .split(' ')
          .filter((w) => w !== '');
        if (verb === 'stop_timer') {
          this.#call(Kind.OK, 'timer.stop', { name: name ?? '' });
          return;
        }
        if (
          ms === undefined ||
          !/^\d{1,9}$/.test(ms) ||
          (count !== undefined && !/^\d{1,9}$/.test(count))
        )
          return this.#error(
            ErrorCode.PROTOCOL,
            'usage: start_timer NAME INTERVAL_MS [SUBJECT] [COUNT]',
          );
        const args: Record<string, unknown> = { name: name ?? '', intervalMs: Number(ms) };
        if (subject !== undefined && subject !== '-') args['subject'] = subject;
        if (count !== undefined) args['count'] = Number(count);
        this.#call(Kind.OK, 'timer.start', args);
        return;
      }
      case 'trigger': {
        const [event, data] = subjectAndData(rest);
        if (typeof data === 'string') return this.#error(ErrorCode.PROTOCOL, data);
        if (event === null)
          return this.#error(ErrorCode.BAD_SUBJECT, 'usage: trigger EVENT [DATA]');
        this.#call(Kind.OK, 'trigger', { event, data });
        return;
      }
      case 'quit': {
        // After what is queued for this connection (messages included), then the end.
        this.#quit = true;
        const cid = this.#nextCid++;
        this.#conn.expect(cid, Kind.QUIT);
        this.#last(encodeCallReply({ cid, ok: true, result: null }));
        return;
      }
      case 'pub':
      case 'req': {
        const [subject, body] = subjectAndData(rest);
        if (typeof body === 'string') return this.#error(ErrorCode.PROTOCOL, body);
        if (subject === null)
          return this.#error(
            ErrorCode.BAD_SUBJECT,
            `usage: ${verb} SUBJECT [DATA]; the subject is missing or not printable ASCII of at most ${MAX_SUBJECT} bytes`,
          );
        if (verb === 'pub') {
          this.#feed(encodePub(subject, body));
          this.#marker(Kind.OK);
        } else {
          this.#conn.requested();
          this.#feed(encodeReq(this.#nextReq++, TEXT_REQUEST_TIMEOUT_MS, subject, body));
        }
        return;
      }
      case 'get':
      case 'del': {
        const key = ascii(rest).trim();
        this.#call(
          verb === 'get' ? Kind.VALUE : Kind.REVISION,
          verb === 'get' ? 'state.get' : 'state.delete',
          { key },
        );
        return;
      }
      case 'set': {
        const [key, value] = subjectAndData(rest);
        if (typeof value === 'string') return this.#error(ErrorCode.PROTOCOL, value);
        if (key === null) return this.#error(ErrorCode.BAD_SUBJECT, 'usage: set KEY [DATA]');
        this.#call(Kind.REVISION, 'state.set', { key, value });
        return;
      }
      case 'watch': {
        const pattern = ascii(rest).trim();
        if (!isPrintable(pattern) || pattern.length + STATE_PREFIX.length > MAX_SUBJECT) {
          return this.#error(ErrorCode.BAD_SUBJECT, 'usage: watch PATTERN');
        }
        const sid = this.#nextSid++;
        this.#subs.set(sid, pattern);
        this.#feed(encodeSub({ sid, subject: STATE_PREFIX + pattern, current: true }));
        this.#marker(Kind.OK, String(sid));
        return;
      }
      case 'sub': {
        const words = ascii(rest)
          .split(' ')
          .filter((w) => w !== '');
        if (
          words.length < 1 ||
          words.length > 2 ||
          !isPrintable(words[0]!) ||
          words[0]!.length > MAX_SUBJECT
        ) {
          return this.#error(ErrorCode.BAD_SUBJECT, 'usage: sub PATTERN [QUEUE]');
        }
        const sid = this.#nextSid++;
        this.#subs.set(sid, words[0]!);
        this.#feed(encodeSub({ sid, subject: words[0]!, queue: words[1] }));
        this.#marker(Kind.OK, String(sid));
        return;
      }
      case 'unsub': {
        const what = ascii(rest).trim();
        const sids = /^\d+$/.test(what)
          ? [Number(what)].filter((sid) => this.#subs.has(sid))
          : [...this.#subs].filter(([, p]) => p === what).map(([sid]) => sid);
        if (sids.length === 0)
          return this.#error(
            ErrorCode.PROTOCOL,
            `unsub: no subscription ${JSON.stringify(what)} on this connection`,
          );
        for (const sid of sids) {
          this.#subs.delete(sid);
          this.#feed(encodeUnsub(sid));
        }
        this.#marker(Kind.OK);
        return;
      }
      default:
        this.#error(
          ErrorCode.UNKNOWN_OP,
          `unknown command ${JSON.stringify(escapeBytes(line.subarray(0, Math.min(line.length, 32))).split(' ')[0])}; try help`,
        );
    }
  }
}

/** The PONG a text session answers the daemon's PING with. */
export const TEXT_PONG = encodeBare(Op.PONG);

function ascii(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function isPrintable(s: string): boolean {
  return /^[\x21-\x7e]+$/.test(s);
}

/** `SUBJECT[ DATA]`: the subject (null when missing or not printable ASCII) and the unescaped data. */
function subjectAndData(rest: Uint8Array): [string | null, Uint8Array | string] {
  const sp = rest.indexOf(0x20);
  const subject = ascii(sp < 0 ? rest : rest.subarray(0, sp));
  const data = sp < 0 ? new Uint8Array(0) : unescapeLine(rest.subarray(sp + 1));
  return [isPrintable(subject) && subject.length <= MAX_SUBJECT ? subject : null, data];
}

function concat(parts: Uint8Array[], len: number): Uint8Array {
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
