// The udsbus daemon: composes broker + unix transport into a running daemon that can be stopped.
// Imports broker/, transport/, protocol/ and util/; argv and signals are main.ts's.

import { Broker, type BrokerOptions } from '../broker/broker.js';
import { closeUnix, listenUnix } from '../transport/unix-server.js';
import { DAEMON_SOCK_BUF } from '../transport/sock-buf.js';
import { packageVersion } from '../util/version.js';

/** A running daemon. */
export interface RunningDaemon {
  path: string;
  broker: Broker;
  stop(): Promise<void>;
}

/** Writes one `udsbus: ...` log line on stderr. */
export function log(line: string): void {
  process.stderr.write(`udsbus: ${line}\n`);
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
    ...options,
    log: quiet ? () => undefined : log,
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
