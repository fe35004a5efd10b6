// The native helper (native/udsbus_native.c) and what it adds to a connected net.Socket: send
// buffer sizes (Node has no SO_SNDBUF; measured in bench/RESULTS.md) and the peer's credentials
// (SO_PEERCRED). Without it: system default buffers, no verified credentials.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type { PeerCredentials } from '../protocol/conn.js';

export interface NativeHelper {
  setSocketBuffers(fd: number, sndbuf: number, rcvbuf: number): [number, number];
  getSocketBuffers(fd: number): [number, number];
  listenAbstract(name: string, backlog: number): number;
  connectAbstract(name: string): number;
  lockFile(path: string): number;
  notify(address: string, message: string): number;
  peerCredentials(fd: number): [number, number, number, number];
}

/**
 * Send buffer the client library asks for by default, bytes: what a producer hands the kernel
 * per write (measured: the producer side matters most for throughput).
 */
export const DEFAULT_SOCK_BUF = 4 * 1024 * 1024;

/**
 * Send buffer the daemon asks for on each client socket by default, bytes. Smaller than the
 * client's: whatever sits in the kernel has left the daemon's queue, so priorities and
 * drop-oldest can no longer act on it (the kernel grants twice this, 2 MiB). Measured as fast
 * as 4 MiB on the 64 B and 1 KiB benchmarks.
 */
export const DAEMON_SOCK_BUF = 1024 * 1024;

let helper: NativeHelper | null | undefined;
let loadProblem = '';

/** The native helper, or null when it was not built (see nativeProblem()). */
export function nativeHelper(): NativeHelper | null {
  if (helper !== undefined) return helper;
  const require = createRequire(import.meta.url);
  try {
    helper = require('../../../native/build/Release/udsbus_native.node') as NativeHelper;
  } catch (err) {
    helper = null;
    loadProblem = (err as Error).message.split('\n')[0] ?? 'not found';
  }
  return helper;
}

/** Why the native helper is not available ('' when it is). */
export function nativeProblem(): string {
  nativeHelper();
  return loadProblem;
}

/** The file descriptor behind a connected net.Socket (Linux), if Node exposes it. */
export function socketFd(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * Asks for a send buffer of `bytes` on `socket` (0 = leave the default). Returns the size the
 * kernel reports afterwards (it doubles the request and caps it at net.core.wmem_max), or null
 * when the helper or the descriptor is unavailable, or the call failed.
 */
export function setSendBuffer(socket: Socket, bytes: number): number | null {
  if (bytes <= 0) return null;
  return withFd(socket, (h, fd) => h.setSocketBuffers(fd, bytes, 0)[0]);
}

/** The send and receive buffer sizes of `socket` as the kernel reports them, or null. */
export function socketBuffers(socket: Socket): { sndbuf: number; rcvbuf: number } | null {
  return withFd(socket, (h, fd) => {
    const [sndbuf, rcvbuf] = h.getSocketBuffers(fd);
    return { sndbuf, rcvbuf };
  });
}

/** Runs `fn` with the helper and the socket's descriptor; null when either is missing or it throws. */
function withFd<T>(socket: Socket, fn: (h: NativeHelper, fd: number) => T): T | null {
  const h = nativeHelper();
  const fd = socketFd(socket);
  if (h === null || fd === undefined) return null;
  try {
    return fn(h, fd);
  } catch {
    return null;
  }
}

/**
 * The peer's credentials as the kernel recorded them when it connected (SO_PEERCRED), or
 * undefined without the helper or the descriptor. Read at accept, before any await. `pid` is 0
 * when SO_PEERPIDFD shows the connecting process has already exited.
 */
export function peerCredentials(socket: Socket): PeerCredentials | undefined {
  return (
    withFd(socket, (h, fd) => {
      const [pid, uid, gid, pidState] = h.peerCredentials(fd);
      // SO_PEERPIDFD says the process that connected has exited (it passed the socket on, or
      // died): its pid may name another process by now, so it is reported as 0 (unknown).
      return { pid: pidState < 0 ? 0 : pid, uid, gid };
    }) ?? undefined
  );
}

/** net.core.wmem_max: the largest send buffer an unprivileged process can set, or null. */
export function wmemMax(): number | null {
  try {
    const n = Number(readFileSync('/proc/sys/net/core/wmem_max', 'utf8').trim());
    return Number.isSafeInteger(n) ? n : null;
  } catch {
    return null;
  }
}
