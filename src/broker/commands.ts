// The daemon commands: one table of control operations (`echo`, `status`, `timer.*`, `trigger`,
// `source.*`), each a function of the caller and its CBOR args that returns the result or throws
// a BusError. CALL dispatch (on-call.ts) and text mode (which sends CALLs) both reach them here.
// docs/PROTOCOL.md section 6.12. Imports only protocol/ and broker/.

import { textEncoder, toBytes } from '../protocol/bytes.js';
import { BusError, ErrorCode } from '../protocol/errors.js';
import { encodeExtras } from '../protocol/extras.js';
import type { Obj } from '../protocol/schema.js';
import { isDaemonSubject, subjectProblem } from '../protocol/subject.js';
import type { BrokerCore } from './core.js';
import type { Session } from './session.js';
import { brokerStatus, statusArgsProblem } from './status.js';
import { daemonPublish, sysEvent } from './sys-events.js';
import { daemonNameProblem, type Tick, type TimerInfo } from './timers.js';

/** One daemon command: the result, or a BusError. */
export type DaemonCommand = (core: BrokerCore, s: Session, args: Obj) => unknown;

/** The daemon's event sources as the `source.*` calls reach them (the daemon implements it). */
export interface SourceHost {
  /** Adds a source from the call's args; returns its listing; throws BusError. */
  add(args: Obj): unknown;
  /** Removes source `name`; returns its last listing; throws BusError NOT_FOUND. */
  remove(name: string): unknown;
  /** Every source's listing. */
  list(): unknown[];
  /** How many sources there are. */
  readonly size: number;
}

/** The data a command publishes: bytes, or text as UTF-8; absent is empty. */
function dataArg(op: string, args: Obj): Uint8Array {
  const v = args['data'];
  if (v === undefined) return new Uint8Array(0);
  if (typeof v === 'string' || v instanceof Uint8Array) return toBytes(v);
  throw argError(`${op}: data must be a byte string or a text string`);
}

function argError(message: string): BusError {
  return new BusError(ErrorCode.PROTOCOL, message);
}

function textArg(op: string, args: Obj, key: string, max = 255): string {
  const v = args[key];
  if (typeof v !== 'string' || v.length > max)
    throw argError(`${op}: ${key} must be a text string of at most ${max} characters`);
  return v;
}

function uintArg(op: string, args: Obj, key: string, fallback: number): number {
  const v = args[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw argError(`${op}: ${key} must be an unsigned integer`);
  return v;
}

/**
 * Checks a subject the daemon is asked to publish on for `s`: valid, no wildcards, not a
 * daemon subject (`$SYS`, `$STATE`: those stay trustworthy), and allowed by the access policy.
 */
export function publishSubject(core: BrokerCore, s: Session, op: string, subject: string): string {
  const problem = subjectProblem(subject, false);
  if (problem !== null)
    throw new BusError(ErrorCode.BAD_SUBJECT, `${op}: ${problem}`, { detail: { subject } });
  if (isDaemonSubject(subject))
    throw new BusError(ErrorCode.PERMISSION, `${op}: only the daemon publishes on ${subject}`, {
      detail: { subject },
    });
  core.permit(s, 'publish', subject);
  return subject;
}

/** True when `s` runs as the daemon's own user or root (by its kernel credentials). */
export function isAdmin(core: BrokerCore, s: Session): boolean {
  const uid = s.conn.peer?.uid;
  const self = core.options.self?.uid;
  return uid === 0 || uid === self;
}

/** May `s` stop a timer started by `owner`? Its owner's uid, the daemon's uid and root may. */
function mayStop(core: BrokerCore, s: Session, owner: number | undefined): boolean {
  return s.conn.peer?.uid === owner || isAdmin(core, s);
}

function sources(core: BrokerCore, s: Session, op: string): SourceHost {
  const host = core.sources;
  if (host === undefined)
    throw new BusError(ErrorCode.UNKNOWN_OP, `${op}: this daemon has no event sources`);
  if (!isAdmin(core, s))
    throw new BusError(
      ErrorCode.PERMISSION,
      `${op}: only the daemon's own user (uid ${core.options.self?.uid ?? '?'}) or root may manage event sources`,
    );
  return host;
}

function timerName(op: string, args: Obj): string {
  const name = textArg(op, args, 'name', 64);
  const problem = daemonNameProblem('timer', name);
  if (problem !== null) throw new BusError(ErrorCode.BAD_SUBJECT, `${op}: ${problem}`);
  return name;
}

/** Every daemon command by op. */
export const DAEMON_COMMANDS: Readonly<Record<string, DaemonCommand>> = {
  echo: (_core, _s, args) => args,

  status: (core, _s, args) => {
    const problem = statusArgsProblem(args);
    if (problem !== null) throw argError(problem);
    return brokerStatus(core, args);
  },

  'timer.start': (core, s, args) => {
    const op = 'timer.start';
    const name = timerName(op, args);
    const subject = publishSubject(
      core,
      s,
      op,
      args['subject'] === undefined ? `timer.${name}` : textArg(op, args, 'subject'),
    );
    const replace = args['replace'];
    if (replace !== undefined && typeof replace !== 'boolean')
      throw argError(`${op}: replace must be a boolean`);
    const owner = core.timers.owner(name);
    if (replace === true && owner !== null && !mayStop(core, s, owner))
      throw new BusError(ErrorCode.PERMISSION, `${op}: timer ${name} belongs to uid ${owner}`);
    const info = core.timers.start(
      {
        name,
        intervalMs: uintArg(op, args, 'intervalMs', -1),
        subject,
        count: uintArg(op, args, 'count', 0),
      },
      s.conn.peer?.uid,
      replace === true,
    );
    core.options.log(
      `timer ${name}: every ${info.intervalMs} ms on ${subject}${info.count > 0 ? `, ${info.count} ticks` : ''} (client ${s.id})`,
    );
    sysEvent(core, `$SYS.timer.${name}`, { timer: name, event: 'start', client: s.id });
    return info;
  },

  'timer.stop': (core, s, args) => {
    const op = 'timer.stop';
    const name = timerName(op, args);
    const owner = core.timers.owner(name);
    if (owner === null)
      throw new BusError(ErrorCode.NOT_FOUND, `${op}: no timer ${name} is running`, {
        detail: { name },
      });
    if (!mayStop(core, s, owner))
      throw new BusError(ErrorCode.PERMISSION, `${op}: timer ${name} belongs to uid ${owner}`, {
        detail: { name },
      });
    const info = core.timers.stop(name)!;
    sysEvent(core, `$SYS.timer.${name}`, {
      timer: name,
      event: 'stop',
      sent: info.sent,
      client: s.id,
    });
    return info;
  },

  'timer.ls': (core) => core.timers.list(),

  trigger: (core, s, args) => {
    const op = 'trigger';
    const event = textArg(op, args, 'event', 249);
    const subject = publishSubject(core, s, op, `event.${event}`);
    const headers: Record<string, string> = { client: String(s.id) };
    const uid = s.conn.peer?.uid;
    if (uid !== undefined) headers['uid'] = String(uid);
    // The caller is paced like a publisher when a subscriber falls behind.
    const receivers = daemonPublish(core, subject, dataArg(op, args), {
      extras: encodeExtras({ headers }),
      producer: s,
    });
    core.msgsIn++;
    return { subject, receivers };
  },

  'source.add': (core, s, args) => sources(core, s, 'source.add').add(args),
  'source.rm': (core, s, args) =>
    sources(core, s, 'source.rm').remove(textArg('source.rm', args, 'name', 64)),
  'source.ls': (core, s) => {
    const host = core.sources;
    if (host === undefined) return [];
    return sources(core, s, 'source.ls').list();
  },
};

/**
 * Publishes a timer tick: JSON `{timer, seq, due, late, skipped}` with headers `timer` and
 * `seq`, from the daemon; ticks never wait for a slow subscriber (they are dropped for it).
 */
export function publishTick(core: BrokerCore, t: Tick): void {
  const info: TimerInfo = t.timer;
  if (t.last) {
    core.options.log(`timer ${info.name}: done after ${info.sent} ticks`);
    sysEvent(core, `$SYS.timer.${info.name}`, { timer: info.name, event: 'done', sent: info.sent });
  }
  if (core.subs.match(info.subject).empty) return;
  const body: Record<string, unknown> = {
    timer: info.name,
    seq: t.seq,
    due: t.due,
    late: t.late,
  };
  if (t.skipped > 0) body['skipped'] = t.skipped;
  const payload = textEncoder.encode(JSON.stringify(body));
  const headers: Record<string, string> = { timer: info.name, seq: String(t.seq) };
  if (t.skipped > 0) headers['skipped'] = String(t.skipped);
  daemonPublish(core, info.subject, payload, { extras: encodeExtras({ headers }) });
}
