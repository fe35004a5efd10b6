// The udsbus daemon: composes broker + unix transport into a running daemon that can be stopped.
// Imports broker/, transport/ and util/; argv and signals are main.ts's.

import { Broker, type BrokerOptions } from '../broker/broker.js';
import { connectionLimit } from '../transport/fd-limit.js';
import { inheritedListenFd } from '../transport/systemd.js';
import {
  closeUnix,
  listenInherited,
  listenUnix,
  type SocketAccess,
} from '../transport/unix-server.js';
import { DAEMON_SOCK_BUF } from '../transport/sock-buf.js';
import { packageVersion } from '../util/version.js';
import { StateFile } from './state-file.js';
import type { TimerSpec } from '../broker/index.js';
import { BusError } from '../protocol/errors.js';
import type { SourceSpec } from './sources/source.js';
import { DEFAULT_MAX_SOURCES, SOURCE_TIMING, SourceTable } from './sources/sources.js';

/** What the daemon starts with besides its clients: config-file sources and timers. */
export interface DaemonStartup {
  sources: SourceSpec[];
  timers: TimerSpec[];
  /** Event sources at most (`--max-sources`). */
  maxSources: number;
}

/** The room a source record leaves in a frame for its subject and headers, bytes. */
const RECORD_ROOM = 1024;

/** A running daemon. */
export interface RunningDaemon {
  path: string;
  /** True when systemd passed the listening socket in (socket activation). */
  activated: boolean;
  broker: Broker;
  stop(): Promise<void>;
}

/** Connections one other uid may hold by default (`--max-connections-per-uid`). */
export const DEFAULT_CONNECTIONS_PER_UID = 1024;

/** Writes one `udsbus: ...` log line on stderr. */
export function log(line: string): void {
  process.stderr.write(`udsbus: ${line}\n`);
}

/** A value the config file sets at start when its key has none (`[[preload]]`). */
export interface Preload {
  key: string;
  value: Uint8Array;
  type?: number;
  persist?: boolean;
}

/** Starts the daemon; resolves once it listens. */
export async function startDaemon(
  path: string,
  options: BrokerOptions,
  shutdownTimeoutMs: number,
  quiet: boolean,
  sockBuf = DAEMON_SOCK_BUF,
  access?: SocketAccess,
  stateDir: string | null = null,
  preload: readonly Preload[] = [],
  startup: DaemonStartup = { sources: [], timers: [], maxSources: DEFAULT_MAX_SOURCES },
): Promise<RunningDaemon> {
  // Shared-state values marked `persist` live in a file in the state folder (none: memory only).
  const stateFile = stateDir === null ? undefined : new StateFile(stateDir, log);
  const broker = new Broker({
    serverVersion: packageVersion(),
    maxConnections: connectionLimit(),
    // A flood of connections from another user must not lock out the rest; the daemon's own
    // user and root are not limited.
    maxConnectionsPerUid: DEFAULT_CONNECTIONS_PER_UID,
    exemptUids: [...new Set([process.getuid?.() ?? 0, 0])],
    self: { uid: process.getuid?.() ?? 0, pid: process.pid },
    ...options,
    ...(stateFile === undefined ? {} : { onPersistChange: () => stateFile.changed() }),
    log: quiet ? () => undefined : log,
    warn: log,
  });
  if (stateFile !== undefined) loadState(broker, stateFile);
  for (const { key, why } of broker.preloadState(preload))
    log(`state: preload of ${key} skipped: ${why}`);
  const sources = new SourceTable(
    broker,
    {
      ...SOURCE_TIMING,
      maxRecord: Math.max(1, broker.options.maxFrame - RECORD_ROOM),
      log: quiet ? () => undefined : log,
    },
    startup.maxSources,
  );
  broker.setSources(sources);
  for (const spec of startup.timers) {
    try {
      broker.startTimer(spec);
    } catch (err) {
      if (!(err instanceof BusError)) throw err;
      throw new RangeError(`config: timer ${spec.name}: ${err.message}`);
    }
  }
  for (const spec of startup.sources) {
    try {
      sources.addSpec(spec, false);
    } catch (err) {
      if (!(err instanceof BusError)) throw err;
      throw new RangeError(`config: ${err.message}`);
    }
  }
  // Socket activation: systemd bound the socket; its path is whatever the unit says.
  const passed = inheritedListenFd();
  const server =
    passed !== null
      ? await listenInherited(broker, passed.fd, sockBuf)
      : await listenUnix(broker, path, sockBuf, access);
  const address = server.address();
  const where = passed !== null && typeof address === 'string' && address !== '' ? address : path;
  let stopping: Promise<void> | undefined;
  return {
    path: where,
    activated: passed !== null,
    broker,
    stop: () => {
      stopping ??= (async () => {
        server.close();
        sources.closeAll();
        const { dropped } = await broker.shutdown(shutdownTimeoutMs);
        if (dropped > 0)
          log(
            `shutdown: ${dropped} queued messages could not be flushed within ${shutdownTimeoutMs} ms`,
          );
        await stateFile?.flush(true);
        await closeUnix(server, where);
      })();
      return stopping;
    },
  };
}

/** Loads the state file into the broker (before it listens) and logs what it found. */
function loadState(broker: Broker, file: StateFile): void {
  file.source(() => broker.persistedState());
  const state = file.load();
  if (state === null) return;
  const skipped = broker.loadState(state);
  for (const { key, why } of skipped) log(`state: ${file.path}: value of ${key} skipped: ${why}`);
  log(
    `state: loaded ${state.entries.length - skipped.length} values from ${file.path} (revision ${broker.persistedState().revision})`,
  );
}
