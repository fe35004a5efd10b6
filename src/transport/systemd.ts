// systemd integration without libsystemd: the listening socket handed over by socket activation
// (LISTEN_PID/LISTEN_FDS, sd_listen_fds(3)) and readiness over NOTIFY_SOCKET (sd_notify(3)),
// sent through the native helper since Node has no Unix datagram sockets.

import { nativeHelper } from './sock-buf.js';

/** The first file descriptor systemd passes (SD_LISTEN_FDS_START). */
export const LISTEN_FDS_START = 3;

/**
 * The listening socket systemd passed to this process, or null when it passed none. Like
 * sd_listen_fds(1), it unsets LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES so that children do
 * not take them for theirs. udsbus listens on one socket: extra fds are reported in `extra`.
 */
export function inheritedListenFd(
  env: NodeJS.ProcessEnv = process.env,
): { fd: number; extra: number } | null {
  const pid = env['LISTEN_PID'];
  const count = Number(env['LISTEN_FDS']);
  delete env['LISTEN_PID'];
  delete env['LISTEN_FDS'];
  delete env['LISTEN_FDNAMES'];
  if (pid !== String(process.pid) || !Number.isInteger(count) || count < 1) return null;
  return { fd: LISTEN_FDS_START, extra: count - 1 };
}

/**
 * Sends `state` (e.g. "READY=1", "STOPPING=1", "STATUS=...") to the service manager when
 * NOTIFY_SOCKET is set. Returns false when there is nobody to tell or it could not be sent.
 */
export function sdNotify(state: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const address = env['NOTIFY_SOCKET'];
  const h = nativeHelper();
  if (address === undefined || address === '' || h === null) return false;
  try {
    h.notify(address, state);
    return true;
  } catch {
    return false;
  }
}
