// The udsbus daemon: composes broker + unix transport, handles signals, logs lifecycle lines.
// The only module that reads argv and the environment for the daemon.

import { parseArgs } from 'node:util';
import { Broker, type BrokerOptions } from '../broker/broker.js';
import { BusError } from '../protocol/errors.js';
import { connectionLimit } from '../transport/fd-limit.js';
import { closeUnix, listenUnix } from '../transport/unix-server.js';
import { defaultSocketPath } from '../transport/socket-path.js';
import { DAEMON_SOCK_BUF, nativeProblem, wmemMax } from '../transport/sock-buf.js';
import { packageVersion } from '../util/version.js';

export const DAEMON_HELP = `Usage: udsbus daemon [options]

Runs the bus daemon on a Unix domain socket.

Options:
  -s, --socket PATH          socket path, or @name for an abstract socket
                             (default: $UDSBUS_SOCKET, $XDG_RUNTIME_DIR/udsbus/bus.sock,
                             or /tmp/udsbus-<uid>/bus.sock)
      --max-frame BYTES      largest frame accepted (default 1048576)
      --max-queue-bytes N    TX queue bound per client, bytes (default 16777216)
      --max-queue-msgs N     TX queue bound per client, messages (default 100000)
      --slow-grace-ms MS     how long a slow subscriber may stay over its bound (default 2000)
      --flow-window BYTES    pause producers while a client has more than this pending;
                             0 = off (default 524288)
      --flow-wait-ms MS      longest such a pause lasts for a client that does not drain
                             (default 100)
      --sock-buf BYTES       send buffer (SO_SNDBUF) asked for on each client socket;
                             0 = system default (default 1048576; needs the native helper)
      --shutdown-timeout MS  how long SIGTERM waits to flush queues (default 5000)
      --ping-ms MS           PING every client this often; 0 = off (default 0)
      --max-pings-out N      disconnect a client after N unanswered PINGs (default 2)
      --idle-timeout-ms MS   disconnect a client silent for this long; 0 = never (default 0)
  -q, --quiet                log only start, stop and daemon errors (no per-client lines)
  -h, --help                 show this help
`;

/** A running daemon. */
export interface RunningDaemon {
  path: string;
  broker: Broker;
  stop(): Promise<void>;
}

function log(line: string): void {
  process.stderr.write(`udsbus: ${line}\n`);
}

function intOpt(v: string | undefined, name: string, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) {
    throw new RangeError(
      `--${name} must be an integer of at least ${min}, got ${JSON.stringify(v)}`,
    );
  }
  return n;
}

/** Starts the daemon; resolves once it listens. */
export async function startDaemon(
  path: string,
  options: BrokerOptions,
  shutdownTimeoutMs: number,
  quiet: boolean,
  sockBuf = DAEMON_SOCK_BUF,
): Promise<RunningDaemon> {
  const broker = new Broker({
    serverVersion: packageVersion(),
    maxConnections: connectionLimit(),
    ...options,
    log: quiet ? () => undefined : log,
    warn: log,
  });
  const server = await listenUnix(broker, path, sockBuf);
  let stopping: Promise<void> | undefined;
  return {
    path,
    broker,
    stop: () => {
      stopping ??= (async () => {
        server.close();
        const { dropped } = await broker.shutdown(shutdownTimeoutMs);
        if (dropped > 0)
          log(
            `shutdown: ${dropped} queued messages could not be flushed within ${shutdownTimeoutMs} ms`,
          );
        await closeUnix(server, path);
      })();
      return stopping;
    },
  };
}

/** The start-up line that says which send buffer client sockets get. */
function sockBufLine(sockBuf: number): string {
  if (sockBuf === 0) return 'socket buffers: system default (--sock-buf 0)';
  const problem = nativeProblem();
  if (problem !== '') {
    return `socket buffers: system default; the native helper is not built (${problem}); run npm run build:native`;
  }
  const max = wmemMax();
  const capped = max !== null && max < sockBuf;
  return `socket buffers: SO_SNDBUF ${sockBuf} bytes per client${capped ? `, capped by net.core.wmem_max at ${max}` : ''}`;
}

/** `udsbus daemon`: returns the exit code. */
export async function daemonMain(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        socket: { type: 'string', short: 's' },
        'max-frame': { type: 'string' },
        'max-queue-bytes': { type: 'string' },
        'max-queue-msgs': { type: 'string' },
        'slow-grace-ms': { type: 'string' },
        'flow-window': { type: 'string' },
        'flow-wait-ms': { type: 'string' },
        'sock-buf': { type: 'string' },
        'shutdown-timeout': { type: 'string' },
        'ping-ms': { type: 'string' },
        'max-pings-out': { type: 'string' },
        'idle-timeout-ms': { type: 'string' },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`udsbus daemon: ${(err as Error).message}\n${DAEMON_HELP}`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(DAEMON_HELP);
    return 0;
  }
  const path = values.socket ?? defaultSocketPath();
  let daemon: RunningDaemon;
  let shutdownTimeout: number;
  let sockBuf: number;
  try {
    sockBuf = intOpt(values['sock-buf'], 'sock-buf', 0) ?? DAEMON_SOCK_BUF;
    shutdownTimeout = intOpt(values['shutdown-timeout'], 'shutdown-timeout') ?? 5000;
    const options: BrokerOptions = {};
    const maxFrame = intOpt(values['max-frame'], 'max-frame');
    if (maxFrame !== undefined) options.maxFrame = maxFrame;
    const mqb = intOpt(values['max-queue-bytes'], 'max-queue-bytes');
    if (mqb !== undefined) options.maxQueueBytes = mqb;
    const mqm = intOpt(values['max-queue-msgs'], 'max-queue-msgs');
    if (mqm !== undefined) options.maxQueueMsgs = mqm;
    const grace = intOpt(values['slow-grace-ms'], 'slow-grace-ms');
    if (grace !== undefined) options.slowGraceMs = grace;
    const flowWindow = intOpt(values['flow-window'], 'flow-window', 0);
    if (flowWindow !== undefined) options.flowWindowBytes = flowWindow;
    const flowWait = intOpt(values['flow-wait-ms'], 'flow-wait-ms');
    if (flowWait !== undefined) options.flowWaitMs = flowWait;
    const pingMs = intOpt(values['ping-ms'], 'ping-ms', 0);
    if (pingMs !== undefined) options.pingMs = pingMs;
    const pingsOut = intOpt(values['max-pings-out'], 'max-pings-out');
    if (pingsOut !== undefined) options.maxPingsOut = pingsOut;
    const idle = intOpt(values['idle-timeout-ms'], 'idle-timeout-ms', 0);
    if (idle !== undefined) options.idleTimeoutMs = idle;
    daemon = await startDaemon(path, options, shutdownTimeout, values.quiet === true, sockBuf);
  } catch (err) {
    if (err instanceof RangeError) {
      process.stderr.write(`udsbus daemon: ${err.message}\n`);
      return 2;
    }
    const msg =
      err instanceof BusError ? err.message : `cannot listen on ${path}: ${(err as Error).message}`;
    log(msg);
    return 1;
  }
  log(`udsbus ${packageVersion()} listening on ${path}`);
  log(sockBufLine(sockBuf));
  return await new Promise<number>((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      process.removeListener('SIGTERM', onSignal);
      process.removeListener('SIGINT', onSignal);
      log(`${sig}: stopping (flushing queues, up to ${shutdownTimeout} ms)`);
      daemon.stop().then(
        () => {
          log('stopped');
          resolve(0);
        },
        (err: unknown) => {
          log(`error while stopping: ${(err as Error).message}`);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
