// The benchmark harness's command line (`node dist/bench/harness/cli.js SCENARIO`, or
// `npm run bench:harness -- SCENARIO`): publishers, subscribers, requesters or idle clients as
// separate processes against a running daemon (or one it starts), then a table or one JSON object.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultSocketPath } from '../../src/client/index.js';
import { startBenchDaemon, type BenchDaemon } from './daemon.js';
import { SCENARIOS, type ScenarioParams } from './runner.js';
import { formatTable } from './stats.js';

const ADAPTER = new URL('./udsbus-adapter.js', import.meta.url).href;

const HELP = `Usage: node dist/bench/harness/cli.js SCENARIO [options]

Runs each publisher, subscriber, requester or idle client as its own process against the
daemon and prints a table, or one JSON object with --json. Every result says how many
messages were sent, delivered and lost (not delivered within the time bound).

Scenarios:
${Object.values(SCENARIOS)
  .map((s) => `  ${s.name.padEnd(8)} ${s.summary}`)
  .join('\n')}

Examples:
  node dist/bench/harness/cli.js pubsub --size 64 --msgs 1000000 --pubs 1 --subs 1
  node dist/bench/harness/cli.js reqrep --size 64 --msgs 50000             (closed loop)
  node dist/bench/harness/cli.js reqrep --size 64 --msgs 50000 --rate 20000 (fixed rate, no coordinated omission)
  node dist/bench/harness/cli.js conns --clients 1000                      (daemon RSS with idle clients)

Options:
  -s, --socket PATH     bus socket (default: $UDSBUS_SOCKET, $XDG_RUNTIME_DIR/udsbus/bus.sock, /tmp/udsbus-<uid>/bus.sock)
      --start-daemon    start a private daemon in a temp dir for this run (ignores --socket)
      --size N          payload bytes (default 64)
      --msgs N          pubsub: messages published in total; reqrep: requests (default 1000000 / 50000)
      --pubs N          pubsub: publisher processes (default 1)
      --subs N          pubsub: subscriber processes (default 1)
      --clients N       conns: idle clients (default 1000)
      --rate N          reqrep: requests per second, fixed rate (default 0 = closed loop)
      --warmup N        reqrep: requests before measuring (default 1000)
      --max-seconds S   time bound of the sending phase (default 10)
      --daemon-pid PID  conns: daemon process to read VmRSS from (default: found from the socket)
      --json            print one JSON object
  -h, --help            show this help
`;

class UsageError extends Error {}

function int(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    throw new UsageError(`--${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  }
  return n;
}

/**
 * The pid of the process listening on a Unix socket path (or `@abstract` name), from
 * /proc/net/unix and the socket inodes in /proc/PID/fd. Undefined when it cannot be seen.
 */
export function findListenerPid(path: string): number | undefined {
  let inode: string | undefined;
  try {
    for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // Num RefCount Protocol Flags Type St Inode Path; flags 00010000 = listening.
      if (f[7] === path && f[3] === '00010000') inode = f[6];
    }
  } catch {
    return undefined;
  }
  if (inode === undefined) return undefined;
  const want = `socket:[${inode}]`;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === want) return Number(pid);
      }
    } catch {
      // gone, or not ours to read
    }
  }
  return undefined;
}

/** Runs the harness command line; returns the exit code (0 ok, 1 failure, 2 usage). */
export async function benchCommand(argv: string[]): Promise<number> {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        socket: { type: 'string', short: 's' },
        'start-daemon': { type: 'boolean', default: false },
        size: { type: 'string' },
        msgs: { type: 'string' },
        pubs: { type: 'string' },
        subs: { type: 'string' },
        clients: { type: 'string' },
        rate: { type: 'string' },
        warmup: { type: 'string' },
        'max-seconds': { type: 'string' },
        'daemon-pid': { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const name = positionals[0];
  const scenario = name === undefined ? undefined : SCENARIOS[name];
  if (scenario === undefined || positionals.length > 1) {
    process.stderr.write(
      `bench: ${name === undefined ? 'missing SCENARIO' : `unknown scenario ${JSON.stringify(positionals.join(' '))}`}\n\n${HELP}`,
    );
    return 2;
  }
  let params: ScenarioParams;
  let daemonPid: number | undefined;
  try {
    const maxSeconds =
      values['max-seconds'] === undefined ? undefined : Number(values['max-seconds']);
    if (maxSeconds !== undefined && !(maxSeconds > 0)) {
      throw new UsageError('--max-seconds must be a positive number');
    }
    const d = scenario.defaults;
    params = {
      size: int('size', values.size, 0) ?? d.size,
      msgs: int('msgs', values.msgs, 1) ?? d.msgs,
      pubs: int('pubs', values.pubs, 1) ?? d.pubs,
      subs: int('subs', values.subs, 1) ?? d.subs,
      clients: int('clients', values.clients, 1) ?? d.clients,
      rate: int('rate', values.rate, 0) ?? d.rate,
      warmup: int('warmup', values.warmup, 0) ?? d.warmup,
      maxMs: maxSeconds === undefined ? d.maxMs : Math.round(maxSeconds * 1000),
    };
    daemonPid = int('daemon-pid', values['daemon-pid'], 1);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench: ${err.message}\n`);
    return 2;
  }

  let daemon: BenchDaemon | undefined;
  // A signal must not orphan the private daemon (workers exit with their IPC channel).
  const onSignal = (): void => {
    const exit = (): never => process.exit(130);
    (daemon ? daemon.stop() : Promise.resolve()).then(exit, exit);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    let socket: string;
    if (values['start-daemon']) {
      daemon = await startBenchDaemon();
      socket = daemon.socket;
      daemonPid = daemon.pid;
    } else {
      socket = values.socket ?? defaultSocketPath();
      daemonPid ??= findListenerPid(socket);
    }
    const result = await scenario.run(
      {
        peer: 'udsbus',
        adapter: ADAPTER,
        endpoint: socket,
        ...(daemonPid !== undefined ? { serverPid: daemonPid } : {}),
      },
      params,
    );
    process.stdout.write(
      values.json ? `${JSON.stringify(result)}\n` : `${formatTable([result])}\n`,
    );
    return 0;
  } catch (err) {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await daemon?.stop();
  }
}

// Run as a program: `node dist/bench/harness/cli.js ...`.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await benchCommand(process.argv.slice(2));
}
