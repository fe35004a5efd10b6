// The daemon's lock on its socket path: `<path>.lock`, flock'ed through the native helper for
// the daemon's whole life, so two daemons racing on a stale socket cannot both listen (probe,
// unlink and listen are not atomic; the lock makes them so). Imports node:fs and the helper.

import { closeSync } from 'node:fs';
import { BusError, ErrorCode } from '../protocol/errors.js';
import { nativeHelper } from './sock-buf.js';

/** A held lock; release() drops it (the kernel also drops it when the process ends). */
export interface PathLock {
  readonly path: string;
  release(): void;
}

/**
 * Takes the lock for the socket at `socketPath`, or throws ADDRESS_IN_USE when another process
 * holds it. Returns null when the native helper is missing (the daemon then relies on the
 * connect probe alone, and says so).
 */
export function lockSocketPath(socketPath: string): PathLock | null {
  const h = nativeHelper();
  if (h === null) return null;
  const path = `${socketPath}.lock`;
  let fd: number;
  try {
    fd = h.lockFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN' || code === 'EWOULDBLOCK')
      throw new BusError(
        ErrorCode.ADDRESS_IN_USE,
        `a daemon is already listening on ${socketPath} (it holds ${path})`,
      );
    throw new BusError(ErrorCode.ADDRESS_IN_USE, `cannot lock ${path}: ${(err as Error).message}`);
  }
  let held = true;
  return {
    path,
    release() {
      if (!held) return;
      held = false;
      closeSync(fd);
    },
  };
}
