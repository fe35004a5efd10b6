// Numbers for the benchmark harness: percentiles, medians and the text table.
// Pure functions: imports only the shared types.
import type { BenchResult } from './types.js';

/** Percentile (0..100) of an ascending-sorted array, nearest-rank. */
export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  const i = Math.min(sorted.length - 1, Math.max(0, rank));
  return sorted[i] ?? 0;
}

/** The metric that ranks runs of a scenario: throughput, median latency or memory. */
export function primaryMetric(r: BenchResult): keyof BenchResult {
  if (r.scenario === 'reqrep') return 'p50_us';
  if (r.scenario === 'conns') return 'rss_mb';
  return 'msgs_per_sec';
}

/**
 * The median run of several runs of one measurement, ranked by its primary metric. A whole run
 * is returned (not field-by-field medians) so sent = delivered + lost still holds in the row.
 */
export function medianResult(runs: readonly BenchResult[]): BenchResult {
  const first = runs[0];
  if (first === undefined) throw new RangeError('medianResult needs at least one run');
  const key = primaryMetric(first);
  const value = (r: BenchResult): number => {
    const v = r[key];
    return typeof v === 'number' ? v : 0;
  };
  const sorted = [...runs].sort((a, b) => value(a) - value(b));
  return { ...(sorted[(sorted.length - 1) >> 1] ?? first) };
}

/** Rounds to 3 significant decimals for small numbers, integers for large ones. */
export function round(v: number): number {
  if (!Number.isFinite(v)) return 0;
  if (Math.abs(v) >= 100) return Math.round(v);
  return Math.round(v * 1000) / 1000;
}

/** Human formatting: 1234567 -> "1.23M". */
export function human(v: number | undefined): string {
  if (v === undefined) return '-';
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (Number.isInteger(v)) return String(v);
  return v.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : 2);
}

/** One line naming a result's case, e.g. `pubsub 1->10 64B`. */
export function caseLabel(r: BenchResult): string {
  switch (r.scenario) {
    case 'pubsub':
      return `pubsub ${r.pubs ?? 1}->${r.subs ?? 1} ${sizeLabel(r.size)}`;
    case 'reqrep':
      return `reqrep ${sizeLabel(r.size)} ${r.mode ?? 'closed-loop'}${r.rate ? ` @${human(r.rate)}/s` : ''}`;
    case 'conns':
      return `conns ${r.clients ?? 0} idle`;
    default:
      return `${r.scenario} ${sizeLabel(r.size)}`;
  }
}

export function sizeLabel(size: number): string {
  return size >= 1024 && size % 1024 === 0 ? `${size / 1024}KiB` : `${size}B`;
}

/** Plain-text table of results for a terminal. */
export function formatTable(results: readonly BenchResult[]): string {
  const header = [
    'peer',
    'case',
    'sent',
    'delivered',
    'lost',
    'msgs/s',
    'MB/s',
    'p50us',
    'p90us',
    'p99us',
    'p99.9us',
    'rssMB',
  ];
  const rows = results.map((r) => [
    r.peer,
    caseLabel(r),
    String(r.sent),
    String(r.delivered),
    String(r.lost),
    human(r.msgs_per_sec),
    human(r.mb_per_sec),
    human(r.p50_us),
    human(r.p90_us),
    human(r.p99_us),
    human(r.p999_us),
    human(r.rss_mb),
  ]);
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  const notes = results
    .filter((r) => r.note)
    .map((r) => `  note (${r.peer}, ${caseLabel(r)}): ${r.note ?? ''}`);
  return [line(header), ...rows.map(line), ...notes].join('\n');
}
