// Text mode, input side: TextInput splits a text session's bytes into lines (bounded), parses
// each command and feeds the binary frames it stands for through the session's own decoder, with
// the marker its answer prints from (see text-mode.ts). Imports protocol/ and broker/ only.

import { encodeCall, encodeCallReply, encodeSub, encodeUnsub } from '../protocol/control-frames.js';
import { ErrorCode, type WireErrorCode } from '../protocol/errors.js';
import { encodePub, encodeReq } from '../protocol/message-frames.js';
import { STATE_PREFIX } from '../protocol/state.js';
import { MAX_SUBJECT } from '../protocol/subject.js';
import { escapeBytes, unescapeLine } from '../protocol/text-escape.js';
import type { TextConn } from './text-conn.js';
import { Kind, TEXT_REQUEST_TIMEOUT_MS } from './text-mode.js';

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
