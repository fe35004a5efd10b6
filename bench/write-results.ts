// Renders bench/RESULTS.md from the suite's JSON (bench/results.json): machine facts, one table
// of medians per case, ratios udsbus/peer and the issue-4 targets marked met or missed.
// Usage: node dist/bench/write-results.js [results.json] [RESULTS.md]
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './harness/types.js';
import { human, medianResult } from './harness/stats.js';

export interface CaseResult extends BenchResult {
  case: string;
  run?: number;
}

export interface SuiteData {
  command: string;
  date: string;
  durationS: number;
  runs: number;
  quick: boolean;
  machine: Record<string, string>;
  versions: Record<string, Record<string, string>>;
  titles: Record<string, string>;
  skipped: { peer: string; reason: string }[];
  cases: { id: string; title: string; params: Record<string, number> }[];
  results: CaseResult[];
  medians: CaseResult[];
}

/**
 * One row per (case, peer): the median run of the successful runs (a whole run, so its counts
 * add up), or the first failure when every run failed. Keeps the order of first appearance.
 */
export function computeMedians(results: readonly CaseResult[]): CaseResult[] {
  const groups = new Map<string, CaseResult[]>();
  for (const r of results) {
    const key = `${r.case}\u0000${r.peer}`;
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  const out: CaseResult[] = [];
  for (const runs of groups.values()) {
    const ok = runs.filter((r) => !r.note?.startsWith('failed'));
    const first = runs[0];
    if (ok.length > 0) {
      const m = medianResult(ok) as CaseResult;
      const failed = runs.length - ok.length;
      if (failed > 0)
        m.note = [m.note, `${failed} of ${runs.length} runs failed`].filter(Boolean).join('; ');
      out.push(m);
    } else if (first) {
      out.push(first);
    }
  }
  return out;
}

interface Target {
  text: string;
  check(m: (c: string, p: string) => CaseResult | undefined): { ok?: boolean; detail: string };
}

const fmt = (v: number | undefined): string => (v === undefined ? '?' : human(v));

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || b === 0) return undefined;
  return a / b;
}

function gate(
  value: number | undefined,
  op: '>=' | '<=' | '<',
  limit: number,
  detail: string,
): { ok?: boolean; detail: string } {
  if (value === undefined) return { detail: `${detail} (no data)` };
  const ok = op === '>=' ? value >= limit : op === '<=' ? value <= limit : value < limit;
  return { ok, detail };
}

const TARGETS: Target[] = [
  {
    text: 'pub/sub 1->1 64 B >= 2x NATS',
    check: (m) => {
      const r = ratio(
        m('pubsub-1-1-64', 'udsbus')?.msgs_per_sec,
        m('pubsub-1-1-64', 'nats')?.msgs_per_sec,
      );
      return gate(r, '>=', 2, `${fmt(r)}x`);
    },
  },
  {
    text: 'pub/sub 1->1 64 B >= 30% of raw relay',
    check: (m) => {
      const r = ratio(
        m('pubsub-1-1-64', 'udsbus')?.msgs_per_sec,
        m('pubsub-1-1-64', 'raw-relay')?.msgs_per_sec,
      );
      return gate(r, '>=', 0.3, r === undefined ? '?' : `${(r * 100).toFixed(0)}%`);
    },
  },
  {
    text: 'pub/sub 1->10 fan-out 64 B >= 3x NATS (deliveries)',
    check: (m) => {
      const r = ratio(
        m('pubsub-1-10-64', 'udsbus')?.msgs_per_sec,
        m('pubsub-1-10-64', 'nats')?.msgs_per_sec,
      );
      return gate(r, '>=', 3, `${fmt(r)}x`);
    },
  },
  {
    text: 'pub/sub 1->1 1 KiB >= 1 GB/s payload',
    check: (m) => {
      const v = m('pubsub-1-1-1k', 'udsbus')?.mb_per_sec;
      return gate(v, '>=', 1000, `${fmt(v)} MB/s`);
    },
  },
  {
    text: 'req/rep 64 B closed-loop p50 <= 1.3x raw relay round trip',
    check: (m) => {
      const r = ratio(m('reqrep-64', 'udsbus')?.p50_us, m('reqrep-64', 'raw-relay')?.p50_us);
      return gate(r, '<=', 1.3, `${fmt(r)}x`);
    },
  },
  {
    text: 'req/rep 64 B closed-loop p50 <= 0.6x NATS',
    check: (m) => {
      const r = ratio(m('reqrep-64', 'udsbus')?.p50_us, m('reqrep-64', 'nats')?.p50_us);
      return gate(r, '<=', 0.6, `${fmt(r)}x`);
    },
  },
  {
    // What the clients cost: RSS with them minus RSS of the same daemon before they connected
    // (a bare Node process alone is over 40 MiB here).
    text: '1,000 idle clients cost the daemon < 50 MB RSS',
    check: (m) => {
      const r = m('conns-1000', 'udsbus');
      const v =
        r?.rss_mb !== undefined && r.rss_base_mb !== undefined
          ? r.rss_mb - r.rss_base_mb
          : undefined;
      return gate(v, '<', 50, `${fmt(v)} MiB (${fmt(r?.rss_mb)} MiB in total)`);
    },
  },
];

function table(header: string[], rows: string[][]): string {
  const align = header.map((_, i) => (i === 0 ? ':--' : '--:'));
  return [header, align, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

function caseTable(data: SuiteData, caseId: string): string {
  const rows = data.medians.filter((r) => r.case === caseId);
  const u = rows.find((r) => r.peer === 'udsbus');
  const kind = rows[0]?.scenario ?? caseId.split('-')[0];
  const title = (peer: string): string => data.titles[peer] ?? peer;
  if (kind === 'reqrep') {
    return table(
      [
        'peer',
        'p50 us',
        'p90 us',
        'p99 us',
        'p99.9 us',
        'req/s',
        'sent',
        'replies',
        'lost',
        'udsbus p50 / peer p50',
      ],
      rows.map((r) => [
        title(r.peer),
        fmt(r.p50_us),
        fmt(r.p90_us),
        fmt(r.p99_us),
        fmt(r.p999_us),
        fmt(r.msgs_per_sec),
        String(r.sent),
        String(r.delivered),
        String(r.lost),
        r.peer === 'udsbus' ? '-' : fmt(ratio(u?.p50_us, r.p50_us)),
      ]),
    );
  }
  if (kind === 'conns') {
    return table(
      [
        'peer',
        'server RSS MiB',
        'RSS before MiB',
        'connected',
        'failed',
        'conn/s',
        'udsbus RSS / peer RSS',
      ],
      rows.map((r) => [
        title(r.peer),
        fmt(r.rss_mb),
        fmt(r.rss_base_mb),
        String(r.delivered),
        String(r.lost),
        fmt(r.msgs_per_sec),
        r.peer === 'udsbus' ? '-' : fmt(ratio(u?.rss_mb, r.rss_mb)),
      ]),
    );
  }
  return table(
    ['peer', 'deliveries/s', 'MB/s', 'sent', 'delivered', 'lost', 'udsbus / peer'],
    rows.map((r) => [
      title(r.peer),
      fmt(r.msgs_per_sec),
      fmt(r.mb_per_sec),
      String(r.sent),
      String(r.delivered),
      String(r.lost),
      r.peer === 'udsbus' ? '-' : fmt(ratio(u?.msgs_per_sec, r.msgs_per_sec)),
    ]),
  );
}

/** The whole RESULTS.md text. */
export function renderResults(data: SuiteData): string {
  const m = (c: string, p: string): CaseResult | undefined =>
    data.medians.find((r) => r.case === c && r.peer === p);
  const out: string[] = [];
  out.push('# udsbus peer benchmarks');
  out.push('');
  out.push(
    '_Generated by `bench/write-results.ts` from `bench/results.json`; do not edit by hand. ' +
      'Regenerate with `npm run bench:peers`._',
  );
  out.push('');
  out.push(`- command: \`${data.command}\``);
  out.push(`- date: ${data.date} (took ${Math.round(data.durationS)} s)`);
  out.push(
    `- runs per cell: ${data.runs}; each row is the median run (ranked by deliveries/s, p50 or RSS)${data.quick ? '; quick mode: short runs, indicative only' : ''}`,
  );
  for (const [k, v] of Object.entries(data.machine)) out.push(`- ${k}: ${v}`);
  out.push('- versions:');
  for (const [peer, vs] of Object.entries(data.versions)) {
    const list = Object.entries(vs).map(([k, v]) => `${k} ${v}`);
    if (list.length > 0) out.push(`  - ${peer}: ${list.join('; ')}`);
  }
  if (data.skipped.length > 0) {
    out.push('- skipped:');
    for (const s of data.skipped) out.push(`  - ${s.peer}: ${s.reason}`);
  }
  out.push('');
  out.push('## Targets (issue 4)');
  out.push('');
  out.push(
    table(
      ['target', 'measured', 'status'],
      TARGETS.map((t) => {
        const r = t.check(m);
        return [t.text, r.detail, r.ok === undefined ? 'n/a' : r.ok ? 'met' : 'missed'];
      }),
    ),
  );
  for (const c of data.cases) {
    if (!data.medians.some((r) => r.case === c.id)) continue;
    out.push('');
    out.push(`## ${c.title}`);
    out.push('');
    out.push(
      `Parameters: ${Object.entries(c.params)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}.`,
    );
    out.push('');
    out.push(caseTable(data, c.id));
    const notes = data.medians.filter((r) => r.case === c.id && r.note);
    if (notes.length > 0) {
      out.push('');
      for (const r of notes) out.push(`- ${r.peer}: ${r.note ?? ''}`);
    }
  }
  out.push('');
  out.push('## How it is measured');
  out.push('');
  out.push(
    [
      '- Every publisher, subscriber, requester and idle-client holder is its own Node process',
      '  (`bench/harness/worker.ts`), started by `bench/harness/runner.ts`; each server is',
      '  started fresh for every run in a temp dir (NATS on a free 127.0.0.1 port).',
      '- pub/sub rate = deliveries counted by the subscribers / (first publish -> last delivery).',
      '  MB/s counts payload bytes (10^6). Sending is time-bounded; what is not delivered once the',
      '  subscribers stall for 1 s is `lost`.',
      '- Clients whose API has no backpressure signal (nats.js, dbus-next) are paced by a window',
      '  of outstanding PING/flush round trips; ioredis and mqtt.js by a window of outstanding',
      '  command callbacks; raw sockets and node-ipc by `write()` returning false.',
      '- req/rep is closed loop (one request in flight), 64 B echo, after a warm-up. Redis and',
      '  MQTT have no native request/reply: it is emulated with an inbox subject (two pub/sub',
      '  hops, like NATS); the node-ipc server routes requests and replies by id.',
      '- conns: server VmRSS from /proc/PID/status once all clients are connected (the',
      '  idle-client holders retry a refused connect up to 4 times: a full Unix listen backlog',
      '  refuses at once).',
      '- Server settings that differ from the defaults (bench/peers/peers.ts): Redis',
      '  `client-output-buffer-limit pubsub 0 0 0` (the default drops a subscriber 32 MB behind);',
      '  Mosquitto `max_inflight_messages 0`, `max_queued_messages 0` (the defaults, 20 and 1000,',
      '  throttle and drop QoS 1); dbus-daemon limits raised to 1 GB per connection. node-ipc has',
      '  no broker: bench/peers/servers/node-ipc-server.ts is a minimal one on its event API.',
      '- node-ipc is pinned to 12.0.0 (see bench/README.md).',
    ].join('\n'),
  );
  // The optimisation log is written by hand (what changed, what it gained) and kept with the
  // generated tables.
  try {
    const log = readFileSync(new URL('../../bench/optimisation-log.md', import.meta.url), 'utf8');
    out.push('', log.trimEnd());
  } catch {
    // no log yet
  }
  out.push('');
  return out.join('\n');
}

function main(): void {
  const root = new URL('../../bench/', import.meta.url);
  const input = process.argv[2] ?? fileURLToPath(new URL('results.json', root));
  const output = process.argv[3] ?? fileURLToPath(new URL('RESULTS.md', root));
  const data = JSON.parse(readFileSync(input, 'utf8')) as SuiteData;
  data.medians = computeMedians(data.results);
  writeFileSync(output, renderResults(data));
  process.stdout.write(`wrote ${output}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
