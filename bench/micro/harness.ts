// The micro-benchmark harness: runs a body in rounds after a warm-up and reports the median
// nanoseconds per operation and the spread, so a figure in the optimisation log can be rerun.

/** One micro-benchmark: `run(ops)` performs `ops` operations and returns a value to keep alive. */
export interface Micro {
  name: string;
  /** What one operation is, for the table. */
  op: string;
  /** Operations per round. */
  ops: number;
  run(ops: number): unknown;
}

export interface MicroResult {
  name: string;
  op: string;
  nsPerOp: number;
  minNs: number;
  maxNs: number;
  rounds: number;
}

let sink: unknown;

/** Warm-up (a third of a round, twice) then `rounds` timed rounds; median ns per op. */
export function measure(m: Micro, rounds = 7): MicroResult {
  for (let i = 0; i < 2; i++) sink = m.run(Math.max(1, Math.floor(m.ops / 3)));
  const ns: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    sink = m.run(m.ops);
    ns.push(Number(process.hrtime.bigint() - t0) / m.ops);
  }
  ns.sort((a, b) => a - b);
  return {
    name: m.name,
    op: m.op,
    nsPerOp: ns[Math.floor(ns.length / 2)]!,
    minNs: ns[0]!,
    maxNs: ns[ns.length - 1]!,
    rounds,
  };
}

/** Keeps the last result reachable so the engine cannot drop the work. */
export function lastSink(): unknown {
  return sink;
}

/** A Markdown table of results. */
export function table(results: MicroResult[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.name} | ${r.op} | ${r.nsPerOp.toFixed(1)} | ${r.minNs.toFixed(1)}–${r.maxNs.toFixed(1)} |`,
  );
  return [
    '| micro-benchmark | one op | median ns/op | range (ns) |',
    '| --- | --- | ---: | ---: |',
    ...rows,
  ].join('\n');
}
