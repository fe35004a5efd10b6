// `udsbus daemon`: reads argv, starts the daemon, stops it on SIGTERM/SIGINT. bin/udsbus.js
// routes `udsbus daemon` here, so the CLI never imports the daemon.
// Imports broker/ (types), transport/, protocol/, util/ and ./daemon.

import { readFileSync } from 'node:fs';
import type { BrokerOptions } from '../broker/index.js';
import { BusError } from '../protocol/errors.js';
import { DAEMON_SOCK_BUF, nativeProblem, wmemMax } from '../transport/sock-buf.js';
import { sdNotify } from '../transport/systemd.js';
import { SOCKET_MODES, type SocketAccess } from '../transport/unix-server.js';
import { defaultSocketPath } from '../transport/socket-path.js';
import { intOption, parseOptions, UsageError } from '../util/args.js';
import { packageVersion } from '../util/version.js';
import {
  log,
  startDaemon,
  type DaemonStartup,
  type Preload,
  type RunningDaemon,
} from './daemon.js';
import { DEFAULT_MAX_SOURCES } from './sources/sources.js';
import { DAEMON_HELP, DAEMON_OPTIONS } from './options.js';
import { defaultStateDir } from './state-file.js';
import { ConfigError, loadConfig, resolvePolicy } from './config.js';

/**
 * SIGHUP: reads the config file again. The access policy changes at once (every later
 * operation is checked against it); other changed options are named in the log as needing a
 * restart. An invalid file changes nothing, and the log says why.
 */
function reload(
  file: string,
  argv: readonly string[],
  running: DaemonArgs,
  daemon: RunningDaemon,
): void {
  let next: DaemonArgs;
  try {
    next = parseDaemonArgs(argv);
  } catch (err) {
    const why = err instanceof ConfigError ? err.problems.join('; ') : (err as Error).message;
    log(`SIGHUP: ${file} not applied, the running config stays: ${why}`);
    return;
  }
  daemon.broker.setPolicy(next.options.policy!);
  const changed: string[] = [];
  const a = { ...running.options, policy: undefined };
  const b = { ...next.options, policy: undefined };
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const k = key as keyof typeof a;
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) changed.push(key);
  }
  if (next.path !== running.path) changed.push('socket');
  if (JSON.stringify(next.startup) !== JSON.stringify(running.startup))
    changed.push('[[source]]/[[timer]]/max-sources');
  if (next.access.mode !== running.access.mode || next.access.gid !== running.access.gid)
    changed.push('socket-mode/socket-group');
  log(
    `SIGHUP: reloaded ${file}: access policy applied (${next.options.policy!.rules.length} rules)` +
      (changed.length > 0 ? `; needs a restart to apply: ${changed.join(', ')}` : ''),
  );
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

interface DaemonArgs {
  path: string;
  access: SocketAccess;
  options: BrokerOptions;
  shutdownTimeout: number;
  sockBuf: number;
  quiet: boolean;
  help: boolean;
  /** The state folder, or null with --no-persist. */
  stateDir: string | null;
  /** The config file read (--config), if any: SIGHUP reloads it. */
  configFile: string | undefined;
  /** --check-config FILE: check it and exit. */
  checkConfig: string | undefined;
  /** The config file's [[preload]] values. */
  preload: Preload[];
  /** Event sources and timers of the config file, and the most sources (--max-sources). */
  startup: DaemonStartup;
}

/** The gid of group `name` from /etc/group (a number is taken as a gid), or a UsageError. */
function groupId(name: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  let table = '';
  try {
    table = readFileSync('/etc/group', 'utf8');
  } catch {
    // no group database: only numeric gids
  }
  for (const line of table.split('\n')) {
    const [group, , gid] = line.split(':');
    if (group === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new UsageError(
    `--socket-group: no group ${JSON.stringify(name)} (give a name from /etc/group or a gid)`,
  );
}

/** --socket-mode and --socket-group, checked. */
function socketAccess(mode: string | undefined, group: string | undefined): SocketAccess {
  const m = mode === undefined ? 0o600 : /^0?[0-7]{3}$/.test(mode) ? parseInt(mode, 8) : NaN;
  if (!(SOCKET_MODES as readonly number[]).includes(m))
    throw new UsageError(`--socket-mode must be 0600, 0660 or 0666, got ${JSON.stringify(mode)}`);
  if (group !== undefined && m === 0o600)
    throw new UsageError('--socket-group needs --socket-mode 0660 (or 0666)');
  return { mode: m, gid: group === undefined ? undefined : groupId(group) };
}

const EMPTY_ARGS: DaemonArgs = {
  path: '',
  access: { mode: 0o600, gid: undefined },
  options: {},
  shutdownTimeout: 0,
  sockBuf: 0,
  quiet: false,
  help: false,
  stateDir: null,
  configFile: undefined,
  checkConfig: undefined,
  preload: [],
  startup: { sources: [], timers: [], maxSources: DEFAULT_MAX_SOURCES },
};

/** `--check-config FILE`: 0 and one line when valid, 1 and every problem when not. */
function checkConfigFile(file: string): number {
  try {
    const c = loadConfig(file);
    resolvePolicy(c.policy, false, 0);
    // Every value as the daemon would take it (ranges, socket mode, group names).
    parseDaemonArgs(['--config', file]);
    process.stdout.write(
      `${file}: ok (${Object.keys(c.options).length} daemon options, ${c.policy.rules.length} policy rules, ${c.preload.length} preloaded values)\n`,
    );
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`udsbus daemon: ${file}: ${err.message}\n`);
      return 1;
    }
    if (!(err instanceof ConfigError)) throw err;
    for (const p of err.problems) process.stderr.write(`udsbus daemon: ${file}: ${p}\n`);
    return 1;
  }
}

/** Parses and checks `udsbus daemon` arguments; throws UsageError. */
export function parseDaemonArgs(argv: readonly string[]): DaemonArgs {
  const { values } = parseOptions(argv, DAEMON_OPTIONS, false);
  const checkConfig = values['check-config'];
  if (checkConfig !== undefined) {
    return { ...EMPTY_ARGS, checkConfig, help: values.help === true };
  }
  // The file's [daemon] values fill in what the command line did not give.
  const config = values.config === undefined ? undefined : loadConfig(values.config);
  for (const [key, v] of Object.entries(config?.options ?? {})) {
    const k = key as keyof typeof values;
    if (values[k] === undefined) (values as Record<string, unknown>)[k] = v;
  }
  const int = (name: keyof typeof DAEMON_OPTIONS, min: number): number | undefined => {
    const v = values[name];
    return typeof v === 'string' ? intOption(v, `--${name}`, min) : undefined;
  };
  const options: BrokerOptions = {};
  const set = <K extends keyof BrokerOptions>(key: K, v: BrokerOptions[K] | undefined): void => {
    if (v !== undefined) options[key] = v;
  };
  set('maxFrame', int('max-frame', 1));
  set('maxQueueBytes', int('max-queue-bytes', 1));
  set('maxQueueMsgs', int('max-queue-msgs', 1));
  set('slowGraceMs', int('slow-grace-ms', 1));
  set('flowWindowBytes', int('flow-window', 0));
  set('flowWaitMs', int('flow-wait-ms', 1));
  set('pingMs', int('ping-ms', 0));
  set('maxPingsOut', int('max-pings-out', 1));
  set('idleTimeoutMs', int('idle-timeout-ms', 0));
  set('maxConnectionsPerUid', int('max-connections-per-uid', 0));
  set('maxSubscriptions', int('max-subscriptions', 1));
  set('maxSubscriptionsTotal', int('max-subscriptions-total', 1));
  set('maxNames', int('max-names', 1));
  set('maxNamesPerClient', int('max-names-per-client', 1));
  set('maxStateKeys', int('max-state-keys', 0));
  set('maxStateValueBytes', int('max-state-value-bytes', 0));
  set('maxStateBytes', int('max-state-bytes', 0));
  set('maxTimers', int('max-timers', 0));
  set('minTimerIntervalMs', int('min-timer-interval-ms', 1));
  if (values['no-persist'] === true && values['state-dir'] !== undefined)
    throw new UsageError('give only one of --state-dir and --no-persist');
  if (values['state-dir'] === '') throw new UsageError('--state-dir must not be empty');
  const path = values.socket ?? defaultSocketPath();
  const access = socketAccess(values['socket-mode'], values['socket-group']);
  options.policy = resolvePolicy(
    config?.policy ?? { connect: undefined, rules: [] },
    !path.startsWith('@') && access.mode !== 0o600,
    process.getuid?.() ?? 0,
  );
  return {
    path,
    access,
    configFile: values.config,
    checkConfig: undefined,
    preload: config?.preload ?? [],
    options,
    shutdownTimeout: int('shutdown-timeout', 1) ?? 5000,
    sockBuf: int('sock-buf', 0) ?? DAEMON_SOCK_BUF,
    quiet: values.quiet === true,
    help: values.help === true,
    stateDir: values['no-persist'] === true ? null : (values['state-dir'] ?? defaultStateDir()),
    startup: {
      sources: config?.sources ?? [],
      timers: config?.timers ?? [],
      maxSources: int('max-sources', 0) ?? DEFAULT_MAX_SOURCES,
    },
  };
}

/** `udsbus daemon`: resolves to the exit code (0 stopped by a signal, 1 failure, 2 usage). */
export async function daemonMain(argv: readonly string[]): Promise<number> {
  let args: DaemonArgs;
  try {
    args = parseDaemonArgs(argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const p of err.problems) process.stderr.write(`udsbus daemon: config: ${p}\n`);
      return 2;
    }
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`udsbus daemon: ${err.message}\nRun 'udsbus daemon --help' for usage.\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(DAEMON_HELP);
    return 0;
  }
  if (args.checkConfig !== undefined) return checkConfigFile(args.checkConfig);
  const { path, shutdownTimeout, sockBuf } = args;
  let daemon: RunningDaemon;
  try {
    daemon = await startDaemon(
      path,
      args.options,
      shutdownTimeout,
      args.quiet,
      sockBuf,
      args.access,
      args.stateDir,
      args.preload,
      args.startup,
    );
  } catch (err) {
    if (err instanceof RangeError || err instanceof TypeError) {
      process.stderr.write(`udsbus daemon: ${err.message}\n`);
      return 2;
    }
    log(
      err instanceof BusError
        ? err.message
        : `cannot listen on ${path}: ${err instanceof Error ? err.message : String(err)}`,
    );
    return 1;
  }
  return await new Promise<number>((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      process.removeListener('SIGTERM', onSignal);
      process.removeListener('SIGINT', onSignal);
      log(`${sig}: stopping (flushing queues, up to ${shutdownTimeout} ms)`);
      sdNotify('STOPPING=1');
      daemon.stop().then(
        () => {
          log('stopped');
          resolve(0);
        },
        (err: unknown) => {
          log(`error while stopping: ${err instanceof Error ? err.message : String(err)}`);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    if (args.configFile !== undefined) {
      const file = args.configFile;
      process.on('SIGHUP', () => reload(file, argv, args, daemon));
    }
    // Only now say we listen: whoever waits for this line may signal at once, and a SIGTERM
    // before the handlers above exist would kill the process without a graceful stop.
    const how = daemon.activated ? ', socket passed by systemd' : '';
    log(`listening on ${daemon.path} (udsbus ${packageVersion()}${how})`);
    log(sockBufLine(sockBuf));
    sdNotify(`READY=1\nSTATUS=listening on ${daemon.path}\nMAINPID=${process.pid}`);
  });
}
