// `npm run bench`: every udsbus scenario once against a private daemon (or -s SOCKET), one
// table at the end. The peer comparison is bench/peers/run.ts (`npm run bench:peers`).
// Options: --quick, -s/--socket PATH, --json.
import { parseArgs } from 'node:util';
import { startBenchDaemon, type BenchDaemon } from './harness/daemon.js';
import { SCENARIOS, type ScenarioParams } from './harness/runner.js';
import { formatTable } from './harness/stats.js';
import type { BenchResult } from './harness/types.js';
import { findListenerPid } from './harness/cli.js';

const ADAPTER = new URL('./harness/udsbus-adapter.js', import.meta.url).href;

const PLAN: {
  scenario: string;
  params: Partial<ScenarioParams>;
  quick: Partial<ScenarioParams>;
}[] = [
  { scenario: 'pubsub', params: { size: 64 }, quick: { msgs: 200_000, maxMs: 2000 } },
  {
    scenario: 'pubsub',
    params: { size: 64, subs: 10, msgs: 200_000 },
    quick: { msgs: 20_000, maxMs: 2000 },
  },
  {
    scenario: 'pubsub',
    params: { size: 1024, msgs: 500_000 },
    quick: { msgs: 100_000, maxMs: 2000 },
  },
  { scenario: 'reqrep', params: { size: 64 }, quick: { msgs: 5000, warmup: 200, maxMs: 2000 } },
  {
    scenario: 'reqrep',
    params: { size: 64, rate: 5000 },
    quick: { msgs: 5000, warmup: 200, maxMs: 2000 },
  },
  { scenario: 'conns', params: { clients: 1000 }, quick: {} },
];

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      socket: { type: 'string', short: 's' },
      json: { type: 'boolean', default: false },
    },
  });
  let daemon: BenchDaemon | undefined;
  const results: BenchResult[] = [];
  try {
    let endpoint = values.socket;
    let pid = endpoint === undefined ? undefined : findListenerPid(endpoint);
    for (const step of PLAN) {
      const scenario = SCENARIOS[step.scenario];
      if (!scenario) continue;
      // A fresh daemon per scenario, unless one was given.
      if (values.socket === undefined) {
        daemon = await startBenchDaemon();
        endpoint = daemon.socket;
        pid = daemon.pid;
      }
      const params = { ...scenario.defaults, ...step.params, ...(values.quick ? step.quick : {}) };
      try {
        const r = await scenario.run(
          {
            peer: 'udsbus',
            adapter: ADAPTER,
            endpoint: endpoint ?? '',
            ...(pid !== undefined ? { serverPid: pid } : {}),
          },
          params,
        );
        results.push(r);
        process.stderr.write(`${formatTable([r]).split('\n').slice(1).join('\n')}\n`);
      } finally {
        await daemon?.stop();
        daemon = undefined;
      }
    }
  } finally {
    await daemon?.stop();
  }
  process.stdout.write(values.json ? `${JSON.stringify(results)}\n` : `${formatTable(results)}\n`);
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
