// Text mode, output side: TextConn wraps a text session's socket Conn and renders what the
// broker writes (binary frames) as lines: MSG, REPLY, STATE, GAP, +OK / -ERR answers (see
// text-mode.ts). Imports protocol/ and broker/ only.

import { textEncoder } from '../protocol/bytes.js';
import { DAEMON_REPLY_LIMITS } from '../protocol/cbor.js';
import { Flag, Op, REPLY_STATUS_ERRORS, ReplyStatus } from '../protocol/constants.js';
import type { Conn, PeerCredentials } from '../protocol/conn.js';
import { decodeCallReply, decodeError } from '../protocol/control-frames.js';
import { decodeGap, decodeMsg, decodeReply } from '../protocol/delivery-frames.js';
import { ErrorCode } from '../protocol/errors.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { STATE_PREFIX } from '../protocol/state.js';
import { escapeBytes } from '../protocol/text-escape.js';
import { HELP, Kind } from './text-mode.js';

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
