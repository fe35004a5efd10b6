// A MSG as the client hands it out: one object per message whose fields are read from the frame
// when first used (no subject string, payload view or header map until asked for). Layout in
// delivery-frames.ts; imports protocol/ only.

import { readAscii, readU32, readU64 } from './bytes.js';
import { Flag, MSG_FLAGS } from './constants.js';
import {
  ENVELOPE_FIXED as ENVELOPE_FIXED_SIZE,
  ENV_FROM,
  ENV_ID,
  ENV_PID,
  ENV_SUBJECT_LEN,
  ENV_UID,
  knownId,
  type MsgFields,
} from './delivery-frames.js';
import { protocolError } from './errors.js';
import { checkTail, decodeHeaders } from './extras.js';
import { readVarint } from './varint.js';

/**
 * A decoded MSG: `sid` and `flags` are read at once, and the frame is checked whole; every other
 * field is read from the frame bytes on first access. It keeps the bytes it was cut from alive
 * (as a payload view would). Fields are read-only.
 */
export class MsgView implements MsgFields {
  readonly sid: number;
  readonly flags: number;
  #buf: Uint8Array;
  /** Start of the envelope (its flags byte). */
  #env: number;
  /** Start of the payload, and end of the frame. */
  #payload: number;
  #end: number;
  #subject: string | undefined = undefined;
  #data: Uint8Array | undefined = undefined;
  #headers: Record<string, string> | undefined = undefined;

  /** Reads the MSG body at `buf[start..end)`; throws BUS_ERR_PROTOCOL if it is malformed. */
  constructor(buf: Uint8Array, start: number, end: number) {
    // Layout: 0 op | 1 sid varint | envelope: flags, priority, from u32, uid u32, pid u32,
    // id u64, subjectLen, subject, [token u64], tail.
    let sid = buf[start + 1] ?? 0x80;
    let off = start + 2;
    if (sid >= 0x80 || off > end) {
      const pos = { next: 0 };
      sid = readVarint(buf, start + 1, pos, end);
      if (sid < 0) throw protocolError('MSG: truncated sid');
      off = pos.next;
    }
    if (off + ENVELOPE_FIXED_SIZE > end) throw protocolError('MSG: truncated envelope');
    const flags = buf[off]!;
    let tail = off + ENVELOPE_FIXED_SIZE + buf[off + ENV_SUBJECT_LEN]!;
    if ((flags & Flag.REPLY) !== 0) tail += 8;
    if (tail > end) throw protocolError('MSG: truncated subject or reply token');
    this.sid = sid;
    this.flags = flags;
    this.#buf = buf;
    this.#env = off;
    this.#payload = flags === 0 ? tail : checkTail(buf, tail, flags, MSG_FLAGS, end);
    this.#end = end;
  }

  get priority(): number {
    return this.#buf[this.#env + 1]!;
  }

  /** Client id of the sender (stamped by the daemon). */
  get from(): number {
    return readU32(this.#buf, this.#env + ENV_FROM);
  }

  /** The sender's uid as the kernel reported it (stamped by the daemon); undefined if unknown. */
  get uid(): number | undefined {
    return knownId(readU32(this.#buf, this.#env + ENV_UID));
  }

  /** The sender's pid as the kernel reported it at connect time; undefined if unknown. */
  get pid(): number | undefined {
    return knownId(readU32(this.#buf, this.#env + ENV_PID));
  }

  /** Message id, per sender. */
  get id(): number {
    return readU64(this.#buf, this.#env + ENV_ID);
  }

  get subject(): string {
    if (this.#subject === undefined) {
      const start = this.#env + ENVELOPE_FIXED_SIZE;
      this.#subject = readAscii(this.#buf, start, start + this.#buf[this.#env + ENV_SUBJECT_LEN]!);
    }
    return this.#subject;
  }

  /** The reply token of a request (flags & REPLY), else 0. */
  get token(): number {
    if ((this.flags & Flag.REPLY) === 0) return 0;
    return readU64(
      this.#buf,
      this.#env + ENVELOPE_FIXED_SIZE + this.#buf[this.#env + ENV_SUBJECT_LEN]!,
    );
  }

  /** Application type (flags & TYPE), else undefined. */
  get type(): number | undefined {
    return (this.flags & Flag.TYPE) === 0 ? undefined : readU32(this.#buf, this.#tailStart());
  }

  get headers(): Record<string, string> | undefined {
    if ((this.flags & Flag.HEADERS) === 0) return undefined;
    if (this.#headers === undefined) {
      const at = this.#tailStart() + ((this.flags & Flag.TYPE) !== 0 ? 4 : 0);
      this.#headers = decodeHeaders(this.#buf, at);
    }
    return this.#headers;
  }

  /** The payload: a view into the received bytes (copy it to keep it if buffers are reused). */
  get data(): Uint8Array {
    return (this.#data ??= this.#buf.subarray(this.#payload, this.#end));
  }

  #tailStart(): number {
    return (
      this.#env +
      ENVELOPE_FIXED_SIZE +
      this.#buf[this.#env + ENV_SUBJECT_LEN]! +
      ((this.flags & Flag.REPLY) !== 0 ? 8 : 0)
    );
  }

  /** Every field, for JSON.stringify and logging. */
  toJSON(): MsgFields {
    return {
      sid: this.sid,
      flags: this.flags,
      priority: this.priority,
      from: this.from,
      uid: this.uid,
      pid: this.pid,
      id: this.id,
      subject: this.subject,
      token: this.token,
      type: this.type,
      headers: this.headers,
      data: this.data,
    };
  }
}
