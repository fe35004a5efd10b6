// Shared state over the wire: the `state.set`, `state.get`, `state.delete` and `state.keys`
// control calls, the change messages on `$STATE.<key>`, and the current values a SUB with
// `current: true` receives first. Imports only protocol/ and broker/.

import { envelopeSize, writeEnvelope, type Sender } from '../protocol/delivery-frames.js';
import { BusError, ErrorCode } from '../protocol/errors.js';
import { encodeExtras, tailSize, writeTail } from '../protocol/extras.js';
import type { Obj } from '../protocol/schema.js';
import {
  STATE_KEYS_PAGE,
  STATE_KEYS_PAGE_MAX,
  STATE_PREFIX,
  StateEventOp,
  StateHeader,
  StateOp,
  stateKeyProblem,
  type StateEventOpValue,
} from '../protocol/state.js';
import { textEncoder } from '../protocol/bytes.js';
import type { BrokerCore } from './core.js';
import { deliver, fanOut } from './delivery.js';
import { block } from './flow-control.js';
import { SessionState, type Session } from './session.js';
import { stateNotFound, textValue, type StateChange, type StateEntry } from './state.js';
import type { Sub } from './sub.js';

/** True when `op` is a state call (handled by onStateCall). */
export function isStateOp(op: string): boolean {
  return op.startsWith('state.');
}

/** A state CALL from `s`: answers with CALL_REPLY; a change is published on `$STATE.<key>`. */
export function onStateCall(
  core: BrokerCore,
  s: Session,
  cid: number,
  op: string,
  args: Obj,
): void {
  core.answerCall(s, cid, () => stateCall(core, s, op, args));
}

function stateCall(core: BrokerCore, s: Session, op: string, args: Obj): unknown {
  const store = core.state;
  switch (op) {
    case StateOp.SET: {
      const key = keyArg(op, args);
      core.permit(s, 'publish', STATE_PREFIX + key);
      const value = args['value'];
      if (!(value instanceof Uint8Array) && typeof value !== 'string')
        throw argError(`${op} ${key}: value must be a byte string (or a text string)`);
      const change = store.set(
        key,
        typeof value === 'string' ? textValue(value) : value.slice(),
        {
          type: uintArg(op, args, 'type', 0xffffffff),
          ifRevision: uintArg(op, args, 'ifRevision', Number.MAX_SAFE_INTEGER),
          persist: boolArg(op, args, 'persist'),
        },
        s.sender,
      );
      changed(core, s, change);
      return { revision: change.revision, prev: change.prev };
    }
    case StateOp.GET: {
      const key = keyArg(op, args);
      core.permit(s, 'subscribe', STATE_PREFIX + key);
      const e = store.get(key);
      if (e === undefined) throw stateNotFound(key);
      return entryMap(e, true);
    }
    case StateOp.DELETE: {
      const key = keyArg(op, args);
      core.permit(s, 'publish', STATE_PREFIX + key);
      const change = store.delete(key, uintArg(op, args, 'ifRevision', Number.MAX_SAFE_INTEGER));
      changed(core, s, change);
      return { revision: change.revision, prev: change.prev };
    }
    case StateOp.KEYS: {
      const pattern = textArg(op, args, 'pattern') ?? '>';
      const problem = stateKeyProblem(pattern, true);
      if (problem !== null) throw new BusError(ErrorCode.BAD_SUBJECT, `${op}: ${problem}`);
      core.permit(s, 'subscribe', STATE_PREFIX + pattern);
      const limit = uintArg(op, args, 'limit', STATE_KEYS_PAGE_MAX) ?? STATE_KEYS_PAGE;
      if (limit < 1)
        throw argError(`${op}: limit must be an integer from 1 to ${STATE_KEYS_PAGE_MAX}`);
      const page = store.page(pattern, textArg(op, args, 'after') ?? '', limit);
      return {
        keys: page.entries.map((e) => entryMap(e, false)),
        total: page.total,
        next: page.next,
      };
    }
    default:
      throw new BusError(ErrorCode.UNKNOWN_OP, `unknown control operation ${JSON.stringify(op)}`);
  }
}

/** A `state.get` result (with the value) or a `state.keys` item (with its size). */
function entryMap(e: StateEntry, withValue: boolean): Obj {
  const map: Obj = { key: e.key };
  if (withValue) map['value'] = e.value;
  else map['size'] = e.value.length;
  map['revision'] = e.revision;
  if (e.type !== undefined) map['type'] = e.type;
  map['persist'] = e.persist;
  return map;
}

/** A change was made: tell the daemon's persistence, then whoever subscribed to its subject. */
function changed(core: BrokerCore, s: Session, change: StateChange): void {
  if (change.persisted) core.options.onPersistChange();
  const subject = STATE_PREFIX + change.key;
  const route = core.subs.match(subject);
  if (route.empty) return;
  const e = change.entry;
  const op = e === undefined ? StateEventOp.DEL : StateEventOp.SET;
  const id = core.nextMsgId();
  const env = stateEnvelope(core, subject, op, change.revision, change.prev, e, s.sender, id);
  fanOut(core, s, route, env, 0, id);
}

const EMPTY = new Uint8Array(0);

/**
 * The envelope of a state message on `subject`: headers `op`, `rev` and (except for `cur`)
 * `prev`, the entry's type, and its value as the payload (empty for a deletion).
 */
function stateEnvelope(
  core: BrokerCore,
  subject: string,
  op: StateEventOpValue,
  revision: number,
  prev: number,
  e: StateEntry | undefined,
  from: Sender,
  id: number,
): Uint8Array {
  const headers: Record<string, string> = {
    [StateHeader.OP]: op,
    [StateHeader.REV]: String(revision),
  };
  if (op !== StateEventOp.CURRENT) headers[StateHeader.PREV] = String(prev);
  const extras = encodeExtras({ type: e?.type, headers });
  const value = e?.value ?? EMPTY;
  const name = textEncoder.encode(subject);
  const tail = new Uint8Array(tailSize(extras, value.length));
  writeTail(tail, 0, extras, value);
  const env = core.slab.alloc(envelopeSize(name.length, extras.flags, tail.length));
  writeEnvelope(env, 0, extras.flags, 0, from, id, name, 0, tail);
  return env;
}

/**
 * A SUB with `current: true` was added: `sub` first receives the current value of every key
 * whose `$STATE.<key>` its pattern matches (header `op: cur`), in no particular order, before
 * any change. They are queued like daemon events: over the connection's bound they follow the
 * subscription's slow-consumer policy (a GAP reports what was lost), so a snapshot never holds
 * more than one bound's worth of bytes. After a large snapshot the client is not read until its
 * queue drains to half, so a burst of such SUBs cannot pile snapshots up.
 */
export function sendCurrent(core: BrokerCore, sub: Sub): void {
  const t = sub.session;
  for (const e of core.state.forSubscription(sub.subject)) {
    if (t.state !== SessionState.READY) return;
    const id = core.nextMsgId();
    const subject = STATE_PREFIX + e.key;
    const env = stateEnvelope(core, subject, StateEventOp.CURRENT, e.revision, 0, e, e.setter, id);
    deliver(core, null, sub, env, 0, id);
  }
  const o = core.options;
  if (t.pending > o.maxQueueBytes / 2 || t.queuedMsgs > o.maxQueueMsgs / 2) block(t, t);
}

function argError(message: string): BusError {
  return new BusError(ErrorCode.PROTOCOL, message);
}

function keyArg(op: string, args: Obj): string {
  const key = args['key'];
  if (typeof key !== 'string') throw argError(`${op}: key must be a text string`);
  const problem = stateKeyProblem(key);
  if (problem !== null) throw new BusError(ErrorCode.BAD_SUBJECT, `${op}: ${problem}`);
  return key;
}

function textArg(op: string, args: Obj, name: string): string | undefined {
  const v = args[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length > 255)
    throw argError(`${op}: ${name} must be a text string of at most 255 characters`);
  return v;
}

function uintArg(op: string, args: Obj, name: string, max: number): number | undefined {
  const v = args[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max)
    throw argError(`${op}: ${name} must be an integer from 0 to ${max}`);
  return v;
}

function boolArg(op: string, args: Obj, name: string): boolean | undefined {
  const v = args[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw argError(`${op}: ${name} must be a boolean`);
  return v;
}
