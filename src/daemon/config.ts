// The daemon's config file (TOML, parsed by smol-toml): `[daemon]` holds any `udsbus daemon`
// option by its long name (the command line wins over the file), `[policy]` and
// `[[policy.rule]]` the access policy, `[[source]]` event sources and `[[timer]]` timers. Every problem names its key and what was expected.
// docs/OPERATIONS.md "Config file". Imports broker/ (types), util/, node and smol-toml.

import { readFileSync } from 'node:fs';
import { parse, TomlError } from 'smol-toml';
import { MAX_TIMER_INTERVAL_MS, daemonNameProblem, type TimerSpec } from '../broker/index.js';
import { BusError } from '../protocol/errors.js';
import { sourceSpec } from './sources/sources.js';
import type { SourceSpec } from './sources/source.js';
import { subjectProblem } from '../protocol/subject.js';
import { DAEMON_OPTIONS } from './options.js';
import { policySection, type PolicySpec } from './config-policy.js';

export { resolvePolicy, type PolicySpec, type RuleSpec } from './config-policy.js';
import type { Preload } from './daemon.js';
import { stateKeyProblem } from '../protocol/state.js';

/** Option arguments that are integers. */
const NUMERIC = new Set(['N', 'BYTES', 'MS']);

/** Options that only make sense on the command line. */
const CLI_ONLY = new Set(['config', 'check-config', 'help']);

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

export type Table = Record<string, unknown>;

export function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

export function describe(v: unknown): string {
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
