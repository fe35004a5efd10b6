// Control frames: an op byte and one CBOR map, each with its schema (HELLO, SUB, UNSUB, CALL,
// CALL_REPLY, ERROR), and the one-byte PING and PONG. docs/PROTOCOL.md sections 6 and 8.
// Imports protocol/ only.

import { decodeCbor, encodeCbor, type CborLimits } from './cbor.js';
import { HELLO_MAGIC, Op, SlowPolicy, type SlowPolicyValue } from './constants.js';
import {
  BusError,
  ErrorCode,
  isWireErrorCode,
  protocolError,
  type WireErrorCode,
} from './errors.js';
import { asObject, optBool, optStr, optUint, str, uint, type Obj } from './schema.js';
import { varintSize, writeVarint } from './varint.js';

/** Wraps a body into a frame (length prefix + body). */
export function frame(body: Uint8Array): Uint8Array {
  const buf = new Uint8Array(varintSize(body.length) + body.length);
  buf.set(body, writeVarint(buf, 0, body.length));
  return buf;
}

function controlFrame(op: number, value: unknown, prefix: readonly number[] = []): Uint8Array {
  const cbor = encodeCbor(value);
  const body = new Uint8Array(1 + prefix.length + cbor.length);
  body[0] = op;
  body.set(prefix, 1);
  body.set(cbor, 1 + prefix.length);
  return frame(body);
}

function controlMap(body: Uint8Array, what: string, at = 1, limits?: CborLimits): Obj {
  return asObject(decodeCbor(body.subarray(at), limits), what);
}

/** A one-byte frame: PING or PONG. */
export function encodeBare(op: typeof Op.PING | typeof Op.PONG): Uint8Array {
  return new Uint8Array([1, op]);
}

// ---------------------------------------------------------------------------------------------
// HELLO: 0 op 0x01 | 1 "UDSB" | 5 version u8 | 6 CBOR map

/** HELLO from a client: who it is and what it asks for. */
export interface ClientHello {
  version: number;
  name: string;
  pid?: number | undefined;
  /** Keepalive interval the client would like, ms (informational). */
  pingMs?: number | undefined;
}

/** HELLO from the daemon: who it is, the client's id, and the limits in force. */
export interface ServerHello {
  version: number;
  server: string;
  serverVersion: string;
  id: number;
  maxFrame: number;
  /** How often the daemon PINGs this client, ms (0 = never). */
  pingMs: number;
  maxQueueBytes?: number | undefined;
  maxQueueMsgs?: number | undefined;
}

/** HELLO with the given version and map. */
export function encodeHello(version: number, map: Obj): Uint8Array {
  return controlFrame(Op.HELLO, map, [...HELLO_MAGIC, version]);
}

/** The client's HELLO. */
export function encodeClientHello(
  version: number,
  hello: Omit<ClientHello, 'version'>,
): Uint8Array {
  return encodeHello(version, { name: hello.name, pid: hello.pid, pingMs: hello.pingMs });
}

/** The daemon's HELLO. */
export function encodeServerHello(hello: ServerHello): Uint8Array {
  return encodeHello(hello.version, {
    server: hello.server,
    version: hello.serverVersion,
    id: hello.id,
    maxFrame: hello.maxFrame,
    pingMs: hello.pingMs,
    maxQueueBytes: hello.maxQueueBytes,
    maxQueueMsgs: hello.maxQueueMsgs,
  });
}

/** Reads the magic and version of a HELLO body; throws BUS_ERR_HANDSHAKE if it is not one. */
export function helloVersion(body: Uint8Array): number {
  if (body.length < 7 || body[0] !== Op.HELLO)
    throw new BusError(ErrorCode.HANDSHAKE, 'expected HELLO as the first frame', { fatal: true });
  for (let i = 0; i < 4; i++) {
    if (body[1 + i] !== HELLO_MAGIC[i])
      throw new BusError(ErrorCode.HANDSHAKE, 'HELLO magic is not "UDSB"', { fatal: true });
  }
  return body[5]!;
}

export function decodeClientHello(body: Uint8Array): ClientHello {
  const version = helloVersion(body);
  const o = controlMap(body, 'HELLO', 6);
  return {
    version,
    name: optStr(o, 'name', 'HELLO', 128) ?? '',
    pid: optUint(o, 'pid', 'HELLO'),
    pingMs: optUint(o, 'pingMs', 'HELLO'),
  };
}

export function decodeServerHello(body: Uint8Array): ServerHello {
  const version = helloVersion(body);
  const o = controlMap(body, 'HELLO', 6);
  return {
    version,
    server: str(o, 'server', 'HELLO'),
    serverVersion: str(o, 'version', 'HELLO'),
    id: uint(o, 'id', 'HELLO'),
    maxFrame: uint(o, 'maxFrame', 'HELLO'),
    pingMs: optUint(o, 'pingMs', 'HELLO') ?? 0,
    maxQueueBytes: optUint(o, 'maxQueueBytes', 'HELLO', Number.MAX_SAFE_INTEGER),
    maxQueueMsgs: optUint(o, 'maxQueueMsgs', 'HELLO', Number.MAX_SAFE_INTEGER),
  };
}

// ---------------------------------------------------------------------------------------------
// SUB and UNSUB

/** SUB: subscribe (or, with serve, answer requests) on a subject pattern. */
export interface SubFields {
  sid: number;
  subject: string;
  queue?: string | undefined;
  serve?: boolean | undefined;
  onSlow?: SlowPolicyValue | undefined;
  /**
   * Deliver the current value of every state key whose `$STATE.<key>` subject the pattern
   * matches before any change (a watch).
   */
  current?: boolean | undefined;
  /**
   * A monitor: copies of every publish, request, reply, direct message and broadcast whose
   * subject the pattern matches, with headers saying what each was (docs/PROTOCOL.md 10.12).
   */
  monitor?: boolean | undefined;
}

export function encodeSub(sub: SubFields): Uint8Array {
  const map: Obj = { sid: sub.sid, subject: sub.subject };
  if (sub.queue !== undefined) map['queue'] = sub.queue;
  if (sub.serve === true) map['serve'] = true;
  if (sub.onSlow !== undefined) map['onSlow'] = sub.onSlow;
  if (sub.current === true) map['current'] = true;
  if (sub.monitor === true) map['monitor'] = true;
  return controlFrame(Op.SUB, map);
}

export function decodeSub(body: Uint8Array): SubFields {
  const o = controlMap(body, 'SUB');
  const onSlow = optStr(o, 'onSlow', 'SUB', 32);
  if (onSlow !== undefined && !(SlowPolicy as readonly string[]).includes(onSlow)) {
    throw protocolError(`SUB.onSlow must be one of ${SlowPolicy.join(', ')}`);
  }
  const sid = uint(o, 'sid', 'SUB');
  if (sid === 0) throw protocolError('SUB.sid must not be 0 (0 marks direct messages)');
  return {
    sid,
    subject: str(o, 'subject', 'SUB', 255),
    queue: optStr(o, 'queue', 'SUB', 255),
    serve: optBool(o, 'serve', 'SUB'),
    onSlow: onSlow as SlowPolicyValue | undefined,
    current: optBool(o, 'current', 'SUB'),
    monitor: optBool(o, 'monitor', 'SUB'),
  };
}

export function encodeUnsub(sid: number): Uint8Array {
  return controlFrame(Op.UNSUB, { sid });
}

export function decodeUnsub(body: Uint8Array): number {
  return uint(controlMap(body, 'UNSUB'), 'sid', 'UNSUB');
}

// ---------------------------------------------------------------------------------------------
// CALL and CALL_REPLY

/** CALL: a control call to the daemon itself (`status`, `echo`). */
export interface CallFields {
  cid: number;
  op: string;
  args: Obj;
}

export function encodeCall(cid: number, op: string, args: Obj = {}): Uint8Array {
  return controlFrame(Op.CALL, { cid, op, args });
}

export function decodeCall(body: Uint8Array): CallFields {
  const o = controlMap(body, 'CALL');
  const args = o['args'] === undefined ? {} : asObject(o['args'], 'CALL.args');
  return { cid: uint(o, 'cid', 'CALL'), op: str(o, 'op', 'CALL', 64), args };
}

export interface CallReplyFields {
  cid: number;
  ok: boolean;
  result: unknown;
  code?: WireErrorCode | undefined;
  message?: string | undefined;
}

export function encodeCallReply(r: CallReplyFields): Uint8Array {
  const map: Obj = { cid: r.cid, ok: r.ok };
  if (r.ok) map['result'] = r.result;
  else {
    map['code'] = r.code;
    map['message'] = r.message;
  }
  return controlFrame(Op.CALL_REPLY, map);
}

/**
 * Decodes a CALL_REPLY. `limits` bounds its CBOR (a daemon's own answers, such as `status`,
 * may hold more items than a frame from a client may).
 */
export function decodeCallReply(body: Uint8Array, limits?: CborLimits): CallReplyFields {
  const o = controlMap(body, 'CALL_REPLY', 1, limits);
  const ok = optBool(o, 'ok', 'CALL_REPLY') ?? false;
  const code = optStr(o, 'code', 'CALL_REPLY', 64);
  if (!ok && !isWireErrorCode(code))
    throw protocolError(`CALL_REPLY.code ${JSON.stringify(code)} is not a wire error code`);
  return {
    cid: uint(o, 'cid', 'CALL_REPLY'),
    ok,
    result: o['result'],
    code: code as WireErrorCode | undefined,
    message: optStr(o, 'message', 'CALL_REPLY', 4096),
  };
}

// ---------------------------------------------------------------------------------------------
// ERROR: 0 op 0x7f | 1 CBOR { code, message, fatal, detail? }

/** A fatal error is followed by the daemon closing the connection. */
export interface ErrorFields {
  code: WireErrorCode;
  message: string;
  fatal: boolean;
  /** What the error answers (`sid`, `op`, `subject`, `to`), or both versions for BUS_ERR_VERSION. */
  detail?: Obj | undefined;
}

export function encodeError(e: ErrorFields): Uint8Array {
  const map: Obj = { code: e.code, message: e.message, fatal: e.fatal };
  if (e.detail !== undefined) map['detail'] = e.detail;
  return controlFrame(Op.ERROR, map);
}

export function decodeError(body: Uint8Array): ErrorFields {
  const o = controlMap(body, 'ERROR');
  const code = str(o, 'code', 'ERROR', 64);
  if (!isWireErrorCode(code))
    throw protocolError(`ERROR.code ${JSON.stringify(code)} is not a wire error code`);
  const detail = o['detail'] === undefined ? undefined : asObject(o['detail'], 'ERROR.detail');
  return {
    code,
    message: str(o, 'message', 'ERROR', 4096),
    fatal: optBool(o, 'fatal', 'ERROR') ?? false,
    detail,
  };
}

/** The BusError an ERROR frame reports. */
export function errorFromFrame(e: ErrorFields): BusError {
  return new BusError(e.code, e.message, { fatal: e.fatal, detail: e.detail });
}
