// The peers of the suite: how to find each one, start its server in a temp dir (or on a free
// 127.0.0.1 port), reach it, and name its versions. Missing ones are reported, not fatal.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { userInfo } from 'node:os';
import { startBenchDaemon } from '../harness/daemon.js';

/** A server the suite started; stop() is idempotent. */
export interface RunningServer {
  endpoint: string;
  pid?: number;
  stop(): Promise<void>;
}

/** Cases of the suite, in table order. */
export const CASES = [
  'pubsub-1-1-64',
  'pubsub-1-10-64',
  'pubsub-1-1-1k',
  'reqrep-64',
  'conns-1000',
] as const;
export type CaseId = (typeof CASES)[number];

export interface Peer {
  id: string;
  /** What is measured, for the table. */
  title: string;
  adapter: string;
  variant?: string;
  cases: readonly CaseId[];
  /** Why this peer cannot run here, or undefined when it can. */
  missing(): string | undefined;
  start(dir: string): Promise<RunningServer>;
  /** Versions of the server and client library, for RESULTS.md. */
  versions(): Record<string, string>;
}

const here = (p: string): string => new URL(p, import.meta.url).href;
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ALL: readonly CaseId[] = CASES;
const NO_CONNS: readonly CaseId[] = CASES.filter((c) => c !== 'conns-1000');

/** Finds an executable on PATH or in the sbin folders Debian puts servers in. */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

function packageVersion(name: string): string | undefined {
  try {
    const pkg = JSON.parse(
      readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8'),
    ) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : undefined;
  } catch {
    return undefined;
  }
}

/** The version a server binary prints (first x.y.z in its output), or its first line. */
function binaryVersion(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 5000 });
  const out = `${r.stdout}\n${r.stderr}`.trim();
  const line = out.split('\n').find((l) => l.trim() !== '') ?? 'unknown';
  return /\d+\.\d+\.\d+/.exec(line)?.[0] ?? line;
}

function needs(bin: string | undefined, binName: string, pkg?: string): string | undefined {
  if (bin !== undefined && findBinary(bin) === undefined) return `${binName} is not installed`;
  if (pkg !== undefined && packageVersion(pkg) === undefined) {
    return `npm package ${pkg} is not installed (npm install)`;
  }
  return undefined;
}

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

async function connectable(target: string | number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock =
      typeof target === 'number' ? connect(target, '127.0.0.1') : connect({ path: target });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/**
 * Spawns a server with its output in DIR/NAME.log and waits until `target` accepts
 * connections; on failure it is killed and the log tail is in the error.
 */
async function launch(
  dir: string,
  name: string,
  cmd: string,
  args: string[],
  target: string | number,
  endpoint: string,
  timeoutMs = 10_000,
): Promise<RunningServer> {
  const log = join(dir, `${name}.log`);
  const fd = openSync(log, 'a');
  const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', fd, fd], cwd: dir });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (await connectable(target)) {
      return { endpoint, ...(child.pid !== undefined ? { pid: child.pid } : {}), stop };
    }
    await sleep(20);
  }
  await stop();
  let tail = '';
  try {
    tail = readFileSync(log, 'utf8').slice(-2000);
  } catch {
    // no log
  }
  throw new Error(`${name} did not start within ${timeoutMs} ms:\n${tail}`);
}

const nodeScript = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

export const PEERS: readonly Peer[] = [
  {
    id: 'udsbus',
    title: 'udsbus (UDS)',
    adapter: new URL('../harness/udsbus-adapter.js', import.meta.url).href,
    cases: ALL,
    missing: () => {
      try {
        accessSync(join(ROOT, 'dist/bench/harness/udsbus-adapter.js'));
        accessSync(join(ROOT, 'dist/src/daemon'));
        return undefined;
      } catch {
        return 'udsbus is not built yet (dist/bench/harness/udsbus-adapter.js, dist/src/daemon)';
      }
    },
    start: async () => {
      const d = await startBenchDaemon();
      return { endpoint: d.socket, pid: d.pid, stop: () => d.stop() };
    },
    versions: () => ({ udsbus: readOwnVersion() }),
  },
  {
    id: 'nats',
    title: 'NATS (TCP 127.0.0.1, nats.js)',
    adapter: here('./adapters/nats.js'),
    cases: ALL,
    missing: () => needs('nats-server', 'nats-server', 'nats'),
    start: async (dir) => {
      const port = await freePort();
      const bin = findBinary('nats-server') ?? 'nats-server';
      return launch(
        dir,
        'nats',
        bin,
        ['-a', '127.0.0.1', '-p', String(port)],
        port,
        `nats://127.0.0.1:${port}`,
      );
    },
    versions: () => ({
      'nats-server': binaryVersion(findBinary('nats-server') ?? 'nats-server', ['--version']),
      'nats (npm)': packageVersion('nats') ?? '?',
    }),
  },
  {
    id: 'redis',
    title: 'Redis pub/sub (UDS, ioredis)',
    adapter: here('./adapters/redis.js'),
    cases: ALL,
    missing: () => needs('redis-server', 'redis-server', 'ioredis'),
    start: async (dir) => {
      const sock = join(dir, 'redis.sock');
      const conf = join(dir, 'redis.conf');
      writeFileSync(
        conf,
        [
          'port 0',
          `unixsocket ${sock}`,
          'unixsocketperm 700',
          `dir ${dir}`,
          'save ""',
          'appendonly no',
          'daemonize no',
          'maxclients 10000',
          // The default kills a subscriber that falls 32 MB behind; a benchmark wants to see it.
          'client-output-buffer-limit pubsub 0 0 0',
          '',
        ].join('\n'),
      );
      return launch(dir, 'redis', findBinary('redis-server') ?? 'redis-server', [conf], sock, sock);
    },
    versions: () => ({
      'redis-server': binaryVersion(findBinary('redis-server') ?? 'redis-server', ['--version']),
      ioredis: packageVersion('ioredis') ?? '?',
    }),
  },
  ...(['qos0', 'qos1'] as const).map((qos): Peer => ({
    id: `mqtt-${qos}`,
    title: `Mosquitto 2 (UDS, mqtt.js, ${qos.toUpperCase()})`,
    adapter: here('./adapters/mqtt.js'),
    variant: qos,
    cases: qos === 'qos0' ? ALL : NO_CONNS,
    missing: () => needs('mosquitto', 'mosquitto', 'mqtt'),
    start: async (dir) => {
      const sock = join(dir, 'mqtt.sock');
      const conf = join(dir, 'mosquitto.conf');
      writeFileSync(
        conf,
        [
          `listener 0 ${sock}`,
          'allow_anonymous true',
          'persistence false',
          // Run as whoever started us (as root it would drop to user mosquitto otherwise).
          `user ${userInfo().username}`,
          'log_dest stderr',
          'log_type error',
          // Defaults (20 in flight, 1000 queued) throttle and drop QoS 1 in a flood.
          'max_inflight_messages 0',
          'max_queued_messages 0',
          'max_connections -1',
          '',
        ].join('\n'),
      );
      return launch(
        dir,
        'mosquitto',
        findBinary('mosquitto') ?? 'mosquitto',
        ['-c', conf],
        sock,
        sock,
      );
    },
    versions: () => ({
      mosquitto: binaryVersion(findBinary('mosquitto') ?? 'mosquitto', ['-h']),
      mqtt: packageVersion('mqtt') ?? '?',
    }),
  })),
  {
    id: 'dbus',
    title: 'D-Bus (private dbus-daemon, dbus-next)',
    adapter: here('./adapters/dbus.js'),
    cases: ALL,
    missing: () => needs('dbus-daemon', 'dbus-daemon', 'dbus-next'),
    start: async (dir) => {
      const sock = join(dir, 'dbus.sock');
      const conf = join(dir, 'dbus.conf');
      const limits = {
        max_incoming_bytes: 1_000_000_000,
        max_outgoing_bytes: 1_000_000_000,
        max_message_size: 33_554_432,
        max_completed_connections: 100_000,
        max_incomplete_connections: 10_000,
        max_connections_per_user: 100_000,
        max_match_rules_per_connection: 50_000,
        max_replies_per_connection: 50_000,
        auth_timeout: 30_000,
      };
      writeFileSync(
        conf,
        [
          '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"',
          ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">',
          '<busconfig>',
          '  <type>session</type>',
          `  <listen>unix:path=${sock}</listen>`,
          '  <auth>EXTERNAL</auth>',
          '  <policy context="default">',
          '    <allow send_destination="*" eavesdrop="true"/>',
          '    <allow eavesdrop="true"/>',
          '    <allow own="*"/>',
          '  </policy>',
          ...Object.entries(limits).map(([k, v]) => `  <limit name="${k}">${v}</limit>`),
          '</busconfig>',
          '',
        ].join('\n'),
      );
      return launch(
        dir,
        'dbus',
        findBinary('dbus-daemon') ?? 'dbus-daemon',
        [`--config-file=${conf}`, '--nofork', '--nopidfile', '--nosyslog'],
        sock,
        sock,
      );
    },
    versions: () => ({
      'dbus-daemon': binaryVersion(findBinary('dbus-daemon') ?? 'dbus-daemon', ['--version']),
      'dbus-next': packageVersion('dbus-next') ?? '?',
    }),
  },
  {
    id: 'node-ipc',
    title: 'node-ipc (UDS, JSON events)',
    adapter: here('./adapters/node-ipc.js'),
    cases: ALL,
    missing: () => needs(undefined, '', 'node-ipc'),
    start: async (dir) => {
      const sock = join(dir, 'node-ipc.sock');
      return launch(
        dir,
        'node-ipc',
        process.execPath,
        [nodeScript('./servers/node-ipc-server.js'), sock],
        sock,
        sock,
      );
    },
    versions: () => ({ 'node-ipc': packageVersion('node-ipc') ?? '?' }),
  },
  {
    id: 'raw-relay',
    title: 'ceiling: raw Node relay (UDS, no routing)',
    adapter: here('./adapters/raw.js'),
    variant: 'relay',
    cases: ALL,
    missing: () => undefined,
    start: async (dir) => {
      const sock = join(dir, 'relay.sock');
      return launch(
        dir,
        'raw-relay',
        process.execPath,
        [nodeScript('./servers/raw-relay.js'), sock],
        sock,
        sock,
      );
    },
    versions: () => ({}),
  },
  {
    id: 'raw-p2p',
    title: 'ceiling: raw Node point-to-point (UDS, no server)',
    adapter: here('./adapters/raw.js'),
    variant: 'p2p',
    cases: NO_CONNS,
    missing: () => undefined,
    start: (dir) => Promise.resolve({ endpoint: dir, stop: () => Promise.resolve() }),
    versions: () => ({}),
  },
];

function readOwnVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : '?';
  } catch {
    return '?';
  }
}
