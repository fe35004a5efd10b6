// Numbers of protocol v1 that every layout shares: version, magic, op codes, flag bits, status
// bytes, slow-consumer policies. docs/PROTOCOL.md is the spec. Imports errors only.

import { ErrorCode, type ErrorCodeValue } from './errors.js';

/** The protocol version this code speaks. */
export const PROTOCOL_VERSION = 1;

/** Magic bytes after the HELLO op: "UDSB". */
export const HELLO_MAGIC = [0x55, 0x44, 0x53, 0x42] as const;

/** Op codes (body[0]). */
export const Op = {
  HELLO: 0x01,
  PING: 0x02,
  PONG: 0x03,
  PUB: 0x10,
  MSG: 0x11,
  REQ: 0x12,
  RES: 0x13,
  SEND: 0x14,
  REPLY: 0x15,
  SUB: 0x20,
  UNSUB: 0x21,
  CALL: 0x30,
  CALL_REPLY: 0x31,
  GAP: 0x40,
  ERROR: 0x7f,
} as const;

/** Flag bits of PUB, REQ, RES, SEND, MSG and REPLY. */
export const Flag = {
  /** MSG: an 8-byte reply token follows the subject (the message is a request). */
  REPLY: 0x01,
  /** A 4-byte application type follows. */
  TYPE: 0x02,
  /** A header block follows. */
  HEADERS: 0x04,
  /** MSG (direct): the message was broadcast to every client. */
  BROADCAST: 0x08,
} as const;

/** Flags a client may set on PUB, REQ, RES and SEND (and the daemon on REPLY). */
export const EXTRAS_FLAGS = Flag.TYPE | Flag.HEADERS;

/** Flags the daemon may set on MSG. */
export const MSG_FLAGS = Flag.REPLY | Flag.TYPE | Flag.HEADERS | Flag.BROADCAST;

/** REPLY status byte. */
export const ReplyStatus = {
  OK: 0,
  /** The responder's handler failed; the payload is a UTF-8 message. */
  ERROR: 1,
  NO_RESPONDERS: 2,
  RESPONDER_GONE: 3,
  /** The daemon refused the request for its subject; the payload is a UTF-8 message. */
  BAD_SUBJECT: 4,
  /** Nobody answered before the request's timeoutMs; the payload is a UTF-8 message. */
  TIMEOUT: 5,
  /** The access policy does not let the requester make this request; the payload says why. */
  PERMISSION: 6,
} as const;
export type ReplyStatusValue = (typeof ReplyStatus)[keyof typeof ReplyStatus];

/** The error code a requester reports for each non-OK REPLY status. */
export const REPLY_STATUS_ERRORS: Readonly<Record<number, ErrorCodeValue>> = {
  [ReplyStatus.ERROR]: ErrorCode.RESPONDER_FAILED,
  [ReplyStatus.NO_RESPONDERS]: ErrorCode.NO_RESPONDERS,
  [ReplyStatus.RESPONDER_GONE]: ErrorCode.RESPONDER_GONE,
  [ReplyStatus.BAD_SUBJECT]: ErrorCode.BAD_SUBJECT,
  [ReplyStatus.TIMEOUT]: ErrorCode.TIMEOUT,
  [ReplyStatus.PERMISSION]: ErrorCode.PERMISSION,
};

/** RES status byte (responder to daemon). */
export const ResStatus = { OK: 0, ERROR: 1 } as const;

/** Slow-consumer policies of a subscription. */
export const SlowPolicy = ['disconnect', 'drop-oldest', 'drop-newest'] as const;
export type SlowPolicyValue = (typeof SlowPolicy)[number];

/** Default largest frame body, bytes (the daemon announces its own in HELLO). */
export const DEFAULT_MAX_FRAME = 1024 * 1024;

/** How much longer than maxFrame a daemon frame may be (a MSG carries up to 17 bytes more). */
export const DAEMON_FRAME_SLACK = 64;

/** `0xNN`: an op, flag set or byte as the spec and error messages write it. */
export function hex2(n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`;
}
