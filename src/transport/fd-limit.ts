// How many client connections this process can hold: its open-file limit (RLIMIT_NOFILE, soft)
// minus what the daemon itself needs. libuv hides accept()'s EMFILE (it accepts and closes
// the connection to keep the listen queue moving), so the daemon stops short of it instead.

import { readFileSync } from 'node:fs';

/** File descriptors kept for the daemon itself (node's own, the lock, the listening socket, logs). */
export const FD_RESERVE = 32;

/** The soft RLIMIT_NOFILE of this process, or null when /proc does not say. */
export function openFileLimit(): number | null {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m === null || m[1] === 'unlimited') return null;
    return Number(m[1]);
  } catch {
    return null;
  }
}

/** Client connections the daemon accepts at most: the fd limit minus FD_RESERVE (0 = no limit known). */
export function connectionLimit(): number {
  const fds = openFileLimit();
  return fds === null ? 0 : Math.max(1, fds - FD_RESERVE);
}
