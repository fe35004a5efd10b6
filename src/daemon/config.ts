// The daemon's config file (TOML, parsed by smol-toml): `[daemon]` holds any `udsbus daemon`
// option by its long name (the command line wins over the file), `[policy]` and
// `[[policy.rule]]` the access policy, `[[source]]` event sources and `[[timer]]` timers. Every problem names its key and what was expected.
// docs/OPERATIONS.md "Config file". Imports broker/ (types), util/, node and smol-toml.

import { readFileSync } from 'node:fs';
import { parse, TomlError } from 'smol-toml';
import {
  MAX_TIMER_INTERVAL_MS,
  VERBS,
  daemonNameProblem,
  type Policy,
  type PolicyRule,
  type TimerSpec,
  type Verb,
} from '../broker/index.js';
import { BusError } from '../protocol/errors.js';
import { sourceSpec } from './sources/sources.js';
import type { SourceSpec } from './sources/source.js';
import { subjectProblem } from '../protocol/subject.js';
import { DAEMON_OPTIONS } from './options.js';
import type { Preload } from './daemon.js';
import { stateKeyProblem } from '../protocol/state.js';

/** Option arguments that are integers. */
const NUMERIC = new Set(['N', 'BYTES', 'MS']);

/** Options that only make sense on the command line. */
const CLI_ONLY = new Set(['config', 'check-config', 'help']);

export interface PolicySpec {
  /** `[policy] connect`: who may connect when no rule says; undefined: the socket mode decides. */
  connect: 'owner' | 'anyone' | undefined;
  rules: RuleSpec[];
}

/** A rule as written, names not yet resolved. */
export interface RuleSpec {
  label: string;
  anyone: boolean;
  uids: number[];
  gids: number[];
  users: string[];
  groups: string[];
  effect: 'allow' | 'deny';
  verbs: Verb[];
  subjects: string[];
}

export interface DaemonConfig {
  file: string;
  /** `[[preload]]`: shared-state values set at start when their key has none. */
  preload: Preload[];
  /** `[daemon]` values as the command line would give them (strings, or true for flags). */
  options: Record<string, string | boolean>;
  policy: PolicySpec;
  /** `[[source]]`: event sources opened at start. */
  sources: SourceSpec[];
  /** `[[timer]]`: timers started at start (owned by the daemon). */
  timers: TimerSpec[];
}

/** A config file that cannot be used: every problem, one per line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: string[];
  constructor(file: string, problems: string[]) {
    super(`${file}: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

type Table = Record<string, unknown>;

function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (isTable(v)) return 'a table';
  return JSON.stringify(v) ?? String(v);
}

/** Reads and checks a config file; throws ConfigError with every problem found. */
export function loadConfig(file: string): DaemonConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read it: ${(err as Error).message}`]);
  }
  let doc: Table;
  try {
    doc = parse(text);
  } catch (err) {
    const where = err instanceof TomlError ? ` (line ${err.line}, column ${err.column})` : '';
    const first = (err as Error).message.split('\n')[0] ?? 'invalid TOML';
    throw new ConfigError(file, [`not valid TOML${where}: ${first}`]);
  }
  const problems: string[] = [];
  for (const key of Object.keys(doc)) {
    if (!['daemon', 'policy', 'preload', 'source', 'timer'].includes(key)) {
      problems.push(
        `${key}: unknown section or key (known: [daemon], [policy], [[policy.rule]], [[preload]], [[source]], [[timer]])`,
      );
    }
  }
  const options = daemonSection(doc['daemon'], problems);
  const policy = policySection(doc['policy'], problems);
  const sources = arrayOfTables(doc['source'], 'source', problems).flatMap((t, i) =>
    sourceTable(t, `source[${i + 1}]`, problems),
  );
  const timers = arrayOfTables(doc['timer'], 'timer', problems).flatMap((t, i) =>
    timerTable(t, `timer[${i + 1}]`, problems),
  );
  const preload = preloadSection(doc['preload'], problems);
  if (problems.length > 0) throw new ConfigError(file, problems);
  return { file, options, policy, preload, sources, timers };
}

function arrayOfTables(v: unknown, key: string, problems: string[]): Table[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every(isTable)) {
    problems.push(`${key}: expected an array of tables ([[${key}]]), got ${describe(v)}`);
    return [];
  }
  return v;
}

const SOURCE_KEYS = ['name', 'path', 'command', 'subject', 'framing', 'from'];

/** `[[source]]`: name, path or command, subject, framing (line, lp, fixed:N), from (start, end). */
function sourceTable(t: Table, at: string, problems: string[]): SourceSpec[] {
  for (const key of Object.keys(t)) {
    if (!SOURCE_KEYS.includes(key))
      problems.push(`${at}.${key}: unknown key (known: ${SOURCE_KEYS.join(', ')})`);
  }
  try {
    return [sourceSpec(t, at)];
  } catch (err) {
    if (!(err instanceof BusError)) throw err;
    problems.push(err.message);
    return [];
  }
}

const TIMER_KEYS = ['name', 'every', 'subject', 'count'];

/** `[[timer]]`: name, every (ms), subject (default timer.<name>), count (default 0: forever). */
function timerTable(t: Table, at: string, problems: string[]): TimerSpec[] {
  const before = problems.length;
  for (const key of Object.keys(t)) {
    if (!TIMER_KEYS.includes(key))
      problems.push(`${at}.${key}: unknown key (known: ${TIMER_KEYS.join(', ')})`);
  }
  const { name, every, subject, count } = t;
  if (typeof name !== 'string' || daemonNameProblem('timer', name) !== null)
    problems.push(`${at}.name: expected 1 to 64 of A-Z a-z 0-9 _ -, got ${describe(name)}`);
  if (
    typeof every !== 'number' ||
    !Number.isInteger(every) ||
    every < 1 ||
    every > MAX_TIMER_INTERVAL_MS
  )
    problems.push(`${at}.every: expected milliseconds (an integer), got ${describe(every)}`);
  const subj = subject ?? `timer.${String(name)}`;
  if (typeof subj !== 'string' || subjectProblem(subj, false) !== null)
    problems.push(`${at}.subject: expected a subject without wildcards, got ${describe(subject)}`);
  if (count !== undefined && !(typeof count === 'number' && Number.isInteger(count) && count >= 0))
    problems.push(`${at}.count: expected a non-negative integer, got ${describe(count)}`);
  if (problems.length > before) return [];
  return [
    {
      name: name as string,
      intervalMs: every as number,
      subject: subj as string,
      count: (count as number | undefined) ?? 0,
    },
  ];
}

function preloadSection(v: unknown, problems: string[]): Preload[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    problems.push(`preload: expected an array of tables ([[preload]]), got ${describe(v)}`);
    return [];
  }
  const out: Preload[] = [];
  v.forEach((e: unknown, i) => {
    const at = `preload[${i + 1}]`;
    if (!isTable(e)) {
      problems.push(`${at}: expected a table, got ${describe(e)}`);
      return;
    }
    for (const k of Object.keys(e)) {
      if (!['key', 'value', 'type', 'persist'].includes(k))
        problems.push(`${at}.${k}: unknown key (known: key, value, type, persist)`);
    }
    const key = e['key'];
    const problem = typeof key === 'string' ? stateKeyProblem(key) : 'expected a string';
    if (problem !== null) problems.push(`${at}.key: ${problem}`);
    if (typeof e['value'] !== 'string')
      problems.push(`${at}.value: expected a string, got ${describe(e['value'])}`);
    const type = e['type'];
    if (
      type !== undefined &&
      !(typeof type === 'number' && Number.isInteger(type) && type >= 0 && type <= 0xffffffff)
    )
      problems.push(`${at}.type: expected an integer 0..4294967295, got ${describe(type)}`);
    const persist = e['persist'];
    if (persist !== undefined && typeof persist !== 'boolean')
      problems.push(`${at}.persist: expected true or false, got ${describe(persist)}`);
    if (problem === null && typeof e['value'] === 'string') {
      out.push({
        key: key as string,
        value: new TextEncoder().encode(e['value']),
        ...(typeof type === 'number' ? { type } : {}),
        persist: persist === true,
      });
    }
  });
  return out;
}

function daemonSection(v: unknown, problems: string[]): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  if (v === undefined) return out;
  if (!isTable(v)) {
    problems.push(`daemon: expected a table ([daemon]), got ${describe(v)}`);
    return out;
  }
  const specs = DAEMON_OPTIONS as Record<string, { type: 'string' | 'boolean'; arg?: string }>;
  for (const [key, value] of Object.entries(v)) {
    const spec = specs[key];
    if (spec === undefined || CLI_ONLY.has(key)) {
      problems.push(
        `daemon.${key}: unknown option (the keys are the long options of udsbus daemon)`,
      );
    } else if (spec.type === 'boolean') {
      if (typeof value === 'boolean') out[key] = value;
      else problems.push(`daemon.${key}: expected true or false, got ${describe(value)}`);
    } else if (NUMERIC.has(spec.arg ?? '')) {
      const ok =
        (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) ||
        (typeof value === 'string' && /^\d+$/.test(value));
      if (ok) out[key] = String(value);
      else problems.push(`daemon.${key}: expected a non-negative integer, got ${describe(value)}`);
    } else if (typeof value === 'string') {
      out[key] = value;
    } else {
      problems.push(`daemon.${key}: expected a string, got ${describe(value)}`);
    }
  }
  return out;
}

function policySection(v: unknown, problems: string[]): PolicySpec {
  const spec: PolicySpec = { connect: undefined, rules: [] };
  if (v === undefined) return spec;
  if (!isTable(v)) {
    problems.push(`policy: expected a table ([policy]), got ${describe(v)}`);
    return spec;
  }
  for (const [key, value] of Object.entries(v)) {
    if (key === 'connect') {
      if (value === 'owner' || value === 'anyone') spec.connect = value;
      else problems.push(`policy.connect: expected "owner" or "anyone", got ${describe(value)}`);
    } else if (key === 'rule') {
      if (!Array.isArray(value)) {
        problems.push(
          `policy.rule: expected an array of tables ([[policy.rule]]), got ${describe(value)}`,
        );
        continue;
      }
      value.forEach((r: unknown, i) => {
        const rule = ruleSpec(r, `policy.rule[${i + 1}]`, problems);
        if (rule !== null) spec.rules.push(rule);
      });
    } else {
      problems.push(`policy.${key}: unknown key (known: connect, rule)`);
    }
  }
  return spec;
}

const PRINCIPALS = ['uid', 'gid', 'user', 'group', 'anyone'] as const;

function ruleSpec(v: unknown, at: string, problems: string[]): RuleSpec | null {
  if (!isTable(v)) {
    problems.push(`${at}: expected a table, got ${describe(v)}`);
    return null;
  }
  const before = problems.length;
  const rule: RuleSpec = {
    label: at.replace('policy.rule[', 'rule ').replace(']', ''),
    anyone: false,
    uids: [],
    gids: [],
    users: [],
    groups: [],
    effect: 'allow',
    verbs: [],
    subjects: [],
  };
  for (const key of Object.keys(v)) {
    if (
      !(PRINCIPALS as readonly string[]).includes(key) &&
      !['allow', 'deny', 'subjects'].includes(key)
    ) {
      problems.push(
        `${at}.${key}: unknown key (known: uid, gid, user, group, anyone, allow, deny, subjects)`,
      );
    }
  }
  const who = PRINCIPALS.filter((k) => v[k] !== undefined);
  if (who.length !== 1) {
    problems.push(
      `${at}: give exactly one of uid, gid, user, group or anyone = true (got ${who.length === 0 ? 'none' : who.join(', ')})`,
    );
  }
  const ids = (key: 'uid' | 'gid'): number[] => {
    const raw = v[key];
    const list = Array.isArray(raw) ? raw : [raw];
    if (
      list.length === 0 ||
      !list.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xfffffffe)
    ) {
      problems.push(
        `${at}.${key}: expected an id or an array of ids (integers), got ${describe(raw)}`,
      );
      return [];
    }
    return list as number[];
  };
  const names = (key: 'user' | 'group'): string[] => {
    const raw = v[key];
    const list = Array.isArray(raw) ? raw : [raw];
    if (list.length === 0 || !list.every((x) => typeof x === 'string' && x !== '')) {
      problems.push(`${at}.${key}: expected a name or an array of names, got ${describe(raw)}`);
      return [];
    }
    return list as string[];
  };
  if (v['uid'] !== undefined) rule.uids = ids('uid');
  if (v['gid'] !== undefined) rule.gids = ids('gid');
  if (v['user'] !== undefined) rule.users = names('user');
  if (v['group'] !== undefined) rule.groups = names('group');
  if (v['anyone'] !== undefined) {
    if (v['anyone'] === true) rule.anyone = true;
    else problems.push(`${at}.anyone: expected true, got ${describe(v['anyone'])}`);
  }
  const effects = (['allow', 'deny'] as const).filter((k) => v[k] !== undefined);
  if (effects.length !== 1) {
    problems.push(`${at}: give exactly one of allow or deny (a list of verbs)`);
  } else {
    const key = effects[0]!;
    rule.effect = key;
    const raw = v[key];
    const list = raw === '*' ? ['*'] : raw;
    if (!Array.isArray(list) || list.length === 0 || !list.every((x) => typeof x === 'string')) {
      problems.push(
        `${at}.${key}: expected an array of verbs (${VERBS.join(', ')}) or "*", got ${describe(raw)}`,
      );
    } else {
      for (const verb of list) {
        if (verb === '*') rule.verbs.push(...VERBS);
        else if ((VERBS as readonly string[]).includes(verb)) rule.verbs.push(verb as Verb);
        else
          problems.push(
            `${at}.${key}: unknown verb ${JSON.stringify(verb)} (verbs: ${VERBS.join(', ')}, or "*")`,
          );
      }
    }
  }
  if (v['subjects'] !== undefined) {
    const raw = v['subjects'];
    if (!Array.isArray(raw) || raw.length === 0 || !raw.every((x) => typeof x === 'string')) {
      problems.push(`${at}.subjects: expected an array of subject patterns, got ${describe(raw)}`);
    } else {
      for (const p of raw) {
        const problem = subjectProblem(p, true);
        if (problem !== null) problems.push(`${at}.subjects: ${problem}`);
        else rule.subjects.push(p);
      }
    }
  }
  return problems.length > before ? null : rule;
}

/** /etc/passwd and /etc/group, read once per resolution. */
interface Accounts {
  users: Map<string, number>;
  groups: Map<string, { gid: number; members: string[] }>;
}

function readAccounts(): Accounts {
  const read = (f: string): string => {
    try {
      return readFileSync(f, 'utf8');
    } catch {
      return '';
    }
  };
  const users = new Map<string, number>();
  for (const line of read('/etc/passwd').split('\n')) {
    const [name, , uid] = line.split(':');
    if (name !== undefined && uid !== undefined && /^\d+$/.test(uid)) users.set(name, Number(uid));
  }
  const groups = new Map<string, { gid: number; members: string[] }>();
  for (const line of read('/etc/group').split('\n')) {
    const [name, , gid, members] = line.split(':');
    if (name !== undefined && gid !== undefined && /^\d+$/.test(gid)) {
      groups.set(name, { gid: Number(gid), members: (members ?? '').split(',').filter(Boolean) });
    }
  }
  return { users, groups };
}

/**
 * The policy the broker enforces: names resolved to ids (a group's supplementary members by
 * uid), and the default for connections: the file's `[policy] connect`, else 'owner' for a
 * per-user bus and 'anyone' for a shared one (--socket-mode 0660 or 0666).
 */
export function resolvePolicy(spec: PolicySpec, sharedBus: boolean, ownerUid: number): Policy {
  const acc = readAccounts();
  const problems: string[] = [];
  const rules: PolicyRule[] = spec.rules.map((r) => {
    const uids = [...r.uids];
    const gids = [...r.gids];
    const memberUids: number[] = [];
    for (const u of r.users) {
      const uid = acc.users.get(u);
      if (uid === undefined)
        problems.push(`${r.label}: no user ${JSON.stringify(u)} in /etc/passwd`);
      else uids.push(uid);
    }
    for (const g of r.groups) {
      const group = acc.groups.get(g);
      if (group === undefined) {
        problems.push(`${r.label}: no group ${JSON.stringify(g)} in /etc/group`);
        continue;
      }
      gids.push(group.gid);
      for (const m of group.members) {
        const uid = acc.users.get(m);
        if (uid !== undefined) memberUids.push(uid);
      }
    }
    return {
      anyone: r.anyone,
      uids,
      gids,
      memberUids,
      effect: r.effect,
      verbs: r.verbs,
      subjects: r.subjects,
      label: r.label,
    };
  });
  if (problems.length > 0) throw new ConfigError('policy', problems);
  return {
    rules,
    defaultConnect: spec.connect ?? (sharedBus ? 'anyone' : 'owner'),
    ownerUid,
  };
}
