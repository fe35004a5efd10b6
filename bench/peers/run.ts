// Peer suite (`npm run bench:peers`): every case against udsbus and every installed peer,
// N runs each (interleaved), medians, then bench/results.json and bench/RESULTS.md.
// Options: --quick, --runs N, --only p1,p2, --scenarios c1,c2, --out-dir DIR, --list.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { DAEMON_SOCK_BUF, DEFAULT_SOCK_BUF, nativeProblem } from '../../src/transport/sock-buf.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SCENARIOS, type ScenarioParams } from '../harness/runner.js';
import { formatTable } from '../harness/stats.js';
import {
  computeMedians,
  renderResults,
  type CaseResult,
  type SuiteData,
} from '../write-results.js';
import { CASES, PEERS, type CaseId, type Peer, type RunningServer } from './peers.js';

interface CaseSpec {
  id: CaseId;
  title: string;
  scenario: string;
  params: Partial<ScenarioParams>;
  quick: Partial<ScenarioParams>;
}

/** --tiny: smoke-test counts (test/integration/bench-smoke), meaningless as numbers. */
const TINY: Record<string, Partial<ScenarioParams>> = {
  pubsub: { msgs: 2000, maxMs: 2000 },
  reqrep: { msgs: 200, warmup: 10, maxMs: 2000 },
  conns: { clients: 50 },
};

const SPECS: readonly CaseSpec[] = [
  {
    id: 'pubsub-1-1-64',
    title: 'pub/sub 1 -> 1, 64 B',
    scenario: 'pubsub',
    params: { size: 64, msgs: 1_000_000, pubs: 1, subs: 1, maxMs: 10_000 },
    quick: { msgs: 200_000, maxMs: 2000 },
  },
  {
    id: 'pubsub-1-10-64',
    title: 'pub/sub 1 -> 10 fan-out, 64 B (deliveries counted)',
    scenario: 'pubsub',
    params: { size: 64, msgs: 200_000, pubs: 1, subs: 10, maxMs: 10_000 },
    quick: { msgs: 20_000, maxMs: 2000 },
  },
  {
    id: 'pubsub-1-1-1k',
    title: 'pub/sub 1 -> 1, 1 KiB',
    scenario: 'pubsub',
    params: { size: 1024, msgs: 500_000, pubs: 1, subs: 1, maxMs: 10_000 },
    quick: { msgs: 100_000, maxMs: 2000 },
  },
  {
    id: 'reqrep-64',
    title: 'request/reply 64 B, closed loop',
    scenario: 'reqrep',
    params: { size: 64, msgs: 50_000, rate: 0, warmup: 1000, maxMs: 10_000 },
    quick: { msgs: 5000, warmup: 200, maxMs: 2000 },
  },
  {
    id: 'conns-1000',
    title: '1,000 idle clients: server memory',
    scenario: 'conns',
    params: { clients: 1000 },
    quick: {},
  },
];

const USAGE = `usage: node dist/bench/peers/run.js [options]
  --quick             short runs, 1 run per cell (unless --runs)
  --tiny              smoke-test counts (for the test suite), 1 run per cell
  --runs N            runs per cell (default 3); the table shows medians
  --only a,b          peers: ${PEERS.map((p) => p.id).join(', ')}
  --scenarios a,b     cases: ${CASES.join(', ')}
  --out-dir DIR       where results.json and RESULTS.md go (default: bench/)
  --list              list peers and whether they are available, then exit`;

/** Pause before each cell, ms. */
const SETTLE_MS = 500;

function machine(): Record<string, string> {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown';
  let os = 'Linux';
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m?.[1]) os = m[1];
  } catch {
    // not fatal
  }
  return {
    cpu,
    cores: String(cpus().length),
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    kernel: release(),
    os,
    node: process.version,
    'socket buffers': socketBufferFacts(),
  };
}

/** The kernel's socket buffer settings, and what udsbus and the raw ceilings ask for. */
function socketBufferFacts(): string {
  const read = (n: string): string => {
    try {
      return readFileSync(`/proc/sys/net/core/${n}`, 'utf8').trim();
    } catch {
      return '?';
    }
  };
  const helper = nativeProblem() === '' ? 'native helper built' : 'native helper NOT built';
  return (
    `net.core.wmem_default ${read('wmem_default')}, wmem_max ${read('wmem_max')}; udsbus and ` +
    `the raw ceilings ask for SO_SNDBUF ${DAEMON_SOCK_BUF} on the server side and ${DEFAULT_SOCK_BUF} on the clients (${helper}); other peers use their own defaults`
  );
}

function split(v: string | undefined): string[] | undefined {
  return v === undefined
    ? undefined
    : v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
}

async function runCell(
  peer: Peer,
  spec: CaseSpec,
  params: ScenarioParams,
  run: number,
): Promise<CaseResult> {
  const scenario = SCENARIOS[spec.scenario];
  if (!scenario) throw new Error(`no scenario ${spec.scenario}`);
  const dir = mkdtempSync(join(tmpdir(), `udsbus-peers-${peer.id}-`));
  let server: RunningServer | undefined;
  const cleanup = async (): Promise<void> => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  current = cleanup;
  try {
    server = await peer.start(dir);
    const r = await scenario.run(
      {
        peer: peer.id,
        adapter: peer.adapter,
        endpoint: server.endpoint,
        ...(peer.variant ? { variant: peer.variant } : {}),
        ...(server.pid !== undefined ? { serverPid: server.pid } : {}),
      },
      params,
    );
    return { ...r, case: spec.id, run };
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return {
      peer: peer.id,
      scenario: spec.scenario,
      size: params.size,
      sent: 0,
      delivered: 0,
      lost: 0,
      msgs_per_sec: 0,
      mb_per_sec: 0,
      elapsed_ms: 0,
      note: `failed: ${message ?? ''}`,
      case: spec.id,
      run,
    };
  } finally {
    current = undefined;
    await cleanup();
  }
}

/** Cleanup of the cell in progress, for a signal that ends the suite early. */
let current: (() => Promise<void>) | undefined;

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`${signal}: stopping the server in use\n`);
    const done = (): never => process.exit(130);
    (current ?? (() => Promise.resolve()))().then(done, done);
  });
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      tiny: { type: 'boolean', default: false },
      runs: { type: 'string' },
      only: { type: 'string' },
      scenarios: { type: 'string' },
      'out-dir': { type: 'string' },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const only = split(values.only);
  const chosenCases = split(values.scenarios);
  for (const p of only ?? []) {
    if (!PEERS.some((x) => x.id === p)) throw new Error(`unknown peer ${p}\n${USAGE}`);
  }
  for (const c of chosenCases ?? []) {
    if (!SPECS.some((x) => x.id === c)) throw new Error(`unknown case ${c}\n${USAGE}`);
  }
  const runs = Number(values.runs ?? (values.quick || values.tiny ? 1 : 3));
  const paramsOf = (spec: CaseSpec): ScenarioParams | undefined => {
    const base = SCENARIOS[spec.scenario]?.defaults;
    if (!base) return undefined;
    return {
      ...base,
      ...spec.params,
      ...(values.quick ? spec.quick : {}),
      ...(values.tiny ? TINY[spec.scenario] : {}),
    };
  };
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');

  const peers: Peer[] = [];
  const skipped: { peer: string; reason: string }[] = [];
  for (const p of PEERS) {
    if (only && !only.includes(p.id)) continue;
    const why = p.missing();
    if (why) skipped.push({ peer: p.id, reason: why });
    else peers.push(p);
  }
  if (values.list) {
    for (const p of PEERS) {
      process.stdout.write(`${p.id.padEnd(10)} ${p.missing() ?? 'available'}  (${p.title})\n`);
    }
    return 0;
  }
  for (const s of skipped) process.stderr.write(`skipping ${s.peer}: ${s.reason}\n`);
  const specs = SPECS.filter((s) => !chosenCases || chosenCases.includes(s.id));

  const started = Date.now();
  const results: CaseResult[] = [];
  for (let run = 1; run <= runs; run++) {
    for (const [specIndex, spec] of specs.entries()) {
      const params = paramsOf(spec);
      if (!params) continue;
      // Rotate the order of peers per run and scenario, so that no peer always runs first
      // (right after the previous scenario's processes exit) or last.
      const shift = peers.length > 0 ? (run - 1 + specIndex) % peers.length : 0;
      for (const peer of [...peers.slice(shift), ...peers.slice(0, shift)]) {
        if (!peer.cases.includes(spec.id)) continue;
        // Let the previous cell's processes finish exiting before measuring the next one.
        await sleep(SETTLE_MS);
        const r = await runCell(peer, spec, params, run);
        results.push(r);
        process.stderr.write(
          `[run ${run}/${runs}] ${spec.id} ${formatTable([r]).split('\n').slice(1).join(' | ')}\n`,
        );
      }
    }
  }

  // Medians in the registry's peer order (runs rotate the order in which peers are measured).
  const rank = (id: string): number => PEERS.findIndex((p) => p.id === id);
  const medians = computeMedians([...results].sort((a, b) => rank(a.peer) - rank(b.peer)));

  const data: SuiteData = {
    command: `npm run bench:peers${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    date: new Date().toISOString(),
    durationS: (Date.now() - started) / 1000,
    runs,
    quick: values.quick || values.tiny,
    machine: machine(),
    versions: Object.fromEntries(peers.map((p) => [p.id, p.versions()])),
    titles: Object.fromEntries(PEERS.map((p) => [p.id, p.title])),
    skipped,
    cases: specs.map((s) => {
      const p: Partial<ScenarioParams> = paramsOf(s) ?? {};
      const shown: Record<string, number> = {};
      for (const k of ['size', 'msgs', 'pubs', 'subs', 'clients', 'maxMs', 'warmup'] as const) {
        const v = p[k];
        if (v === undefined) continue;
        if (s.scenario === 'conns' && k !== 'clients') continue;
        if (s.scenario === 'reqrep' && (k === 'pubs' || k === 'subs' || k === 'clients')) continue;
        if (s.scenario === 'pubsub' && (k === 'clients' || k === 'warmup')) continue;
        shown[k] = v;
      }
      return { id: s.id, title: s.title, params: shown };
    }),
    results,
    medians,
  };
  const outDir = values['out-dir'] ?? fileURLToPath(new URL('../../../bench/', import.meta.url));
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(data, null, 2)}\n`);
  writeFileSync(join(outDir, 'RESULTS.md'), renderResults(data));
  process.stdout.write(`${formatTable(medians)}\n`);
  process.stdout.write(`wrote ${join(outDir, 'RESULTS.md')}\n`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
