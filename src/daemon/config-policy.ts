// The access-policy part of the config file: `[policy]` and `[[policy.rule]]` checked key by key,
// and the rules resolved (user and group names from /etc/passwd and /etc/group) into the
// broker's Policy. docs/OPERATIONS.md "Access policy". Imports broker/ (types), protocol/, node.

import { readFileSync } from 'node:fs';
import { VERBS, type Policy, type PolicyRule, type Verb } from '../broker/index.js';
import { subjectProblem } from '../protocol/subject.js';
import { ConfigError, describe, isTable } from './config.js';

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

export function policySection(v: unknown, problems: string[]): PolicySpec {
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
