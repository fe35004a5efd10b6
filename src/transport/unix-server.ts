// Listens on a Unix socket (path or abstract) and attaches each connection to a Broker.
// Owns the socket file: a trusted 0700 folder, a lock held for the daemon's life, the
// stale-socket probe, a 0600 socket, removal on close.

import { chmodSync, chownSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Attachable } from '../protocol/conn.js';
import { BusError, ErrorCode } from '../protocol/errors.js';
import { connectSocket, listenAbstract } from './connect.js';
import { lockSocketPath, type PathLock } from './lock.js';
import { isAbstract } from './socket-path.js';
import { currentUid, folderProblem } from './socket-trust.js';
import { peerCredentials, setSendBuffer } from './sock-buf.js';

/** Attaches one socket to the broker: bytes in, bytes out, drain and close. */
export function attachSocket(broker: Attachable, socket: Socket, sockBuf = 0): void {
  socket.setNoDelay?.(true);
  if (sockBuf > 0) setSendBuffer(socket, sockBuf);
  const peer = peerCredentials(socket);
  const events = broker.attach({
    ...(peer !== undefined && { peer }),
    write: (bytes) => socket.write(bytes),
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    // Written bytes are in the peer's receive queue once 'finish' fires, so closing the fd
    // then loses nothing, and a peer that never ends its side does not keep the socket open.
    end: () => socket.end(() => socket.destroy()),
    destroy: () => socket.destroy(),
  });
  socket.on('data', events.data);
  socket.on('drain', events.drain);
  socket.on('close', events.close);
  // The peer finished sending (`printf ... | socat`): the broker decides when to close (a text
  // session answers what it was asked first); without a handler, close as Node would.
  socket.on('end', events.end ?? (() => socket.end(() => socket.destroy())));
  socket.on('error', () => {
    // 'close' follows; the broker logs the disconnect.
  });
}

/** Resolves true when something accepts a connection at `path`. */
export function probe(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connectSocket(path);
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(true); // something holds the path but does not answer quickly: treat as live
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

/** Who may connect to a path socket: its mode and, optionally, its group. */
export interface SocketAccess {
  /** 0o600 (default: the daemon's user only), 0o660 (and the group) or 0o666 (everybody). */
  mode: number;
  /** The socket's group (needs root, or membership of that group). */
  gid?: number | undefined;
}

/** The socket modes a daemon may use. */
export const SOCKET_MODES = [0o600, 0o660, 0o666] as const;

/**
 * Creates the socket's folder when it is missing — 0700, or 0750/0755 when the socket is shared
 * with a group/everybody (with the socket's group) — and refuses a folder that is a symlink,
 * belongs to another user, or that others may write to (folderProblem).
 */
function prepareFolder(path: string, access: SocketAccess): void {
  const dir = dirname(path);
  const mode = (access.mode & 0o007) !== 0 ? 0o755 : (access.mode & 0o070) !== 0 ? 0o750 : 0o700;
  // mkdir's mode is filtered by the umask: set it again on a folder created here.
  if (mkdirSync(dir, { recursive: true, mode }) !== undefined) {
    chmodSync(dir, mode);
    if (access.gid !== undefined) chownSync(dir, -1, access.gid);
  }
  const problem = folderProblem(dir, currentUid());
  if (problem !== null)
    throw new BusError(ErrorCode.ADDRESS_IN_USE, `refusing to listen: ${problem}`);
}

const locks = new WeakMap<Server, PathLock>();
/** Servers on a socket systemd passed in: the socket file is systemd's, never removed here. */
const inherited = new WeakSet<Server>();

/**
 * Listen backlog: connections the kernel holds for the daemon before it accepts them. A Unix
 * socket's connect() fails with EAGAIN when it is full (no retry as with TCP), so a boot-time
 * burst of clients needs room. The kernel caps it at net.core.somaxconn (4096 by default
 * since Linux 5.4; 128 before).
 */
export const LISTEN_BACKLOG = 4096;

/**
 * Listens on an already bound and listening socket `fd` (systemd socket activation): no
 * folder, lock, probe or unlink — the socket and its file belong to the service manager.
 */
export async function listenInherited(
  broker: Attachable,
  fd: number,
  sockBuf = 0,
): Promise<Server> {
  const server = createServer({ pauseOnConnect: false, allowHalfOpen: true }, (socket) =>
    attachSocket(broker, socket, sockBuf),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Node calls listen() again on the fd (with 511 unless told): keep the backlog high.
    server.listen({ fd }, LISTEN_BACKLOG, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err: NodeJS.ErrnoException) => broker.acceptFailed?.(err.code ?? 'EIO'));
  inherited.add(server);
  return server;
}

/**
 * Starts listening on `path`. Refuses an untrusted folder, a lock another daemon holds, or a
 * live server answering there; removes a stale socket file only after a failed connect probe.
 * The socket file gets `access` (default 0600, the daemon's user only).
 */
export async function listenUnix(
  broker: Attachable,
  path: string,
  sockBuf = 0,
  access: SocketAccess = { mode: 0o600 },
): Promise<Server> {
  if (!(SOCKET_MODES as readonly number[]).includes(access.mode))
    throw new RangeError(`socket mode must be 0600, 0660 or 0666, not 0${access.mode.toString(8)}`);
  const abstract = isAbstract(path);
  const lock = abstract ? null : (prepareFolder(path, access), lockSocketPath(path));
  try {
    const server = await listenLocked(broker, path, sockBuf);
    if (!abstract) {
      try {
        chmodSync(path, access.mode);
        if (access.gid !== undefined) chownSync(path, -1, access.gid);
      } catch (err) {
        await closeUnix(server, path); // not left listening with the wrong access
        throw err;
      }
    }
    if (lock !== null) locks.set(server, lock);
    return server;
  } catch (err) {
    lock?.release();
    throw err;
  }
}

/** listenUnix once the folder is ready and the lock (if any) is held. */
async function listenLocked(broker: Attachable, path: string, sockBuf: number): Promise<Server> {
  const abstract = isAbstract(path);
  if (!abstract) {
    let exists = false;
    try {
      exists = lstatSync(path).isSocket();
      if (!exists)
        throw new BusError(
          ErrorCode.ADDRESS_IN_USE,
          `${path} exists and is not a socket; not touching it`,
        );
    } catch (err) {
      if (err instanceof BusError) throw err;
    }
    if (exists) {
      if (await probe(path))
        throw new BusError(ErrorCode.ADDRESS_IN_USE, `a daemon is already listening on ${path}`);
      unlinkSync(path);
    }
  }
  const server = createServer({ pauseOnConnect: false, allowHalfOpen: true }, (socket) =>
    attachSocket(broker, socket, sockBuf),
  );
  const oldMask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EADDRINUSE') {
          reject(
            new BusError(ErrorCode.ADDRESS_IN_USE, `a daemon is already listening on ${path}`),
          );
        } else reject(err);
      });
      if (abstract) listenAbstract(server, path, LISTEN_BACKLOG).then(resolve, reject);
      else server.listen({ path, backlog: LISTEN_BACKLOG }, () => resolve());
    });
  } finally {
    process.umask(oldMask);
  }
  // Once listening, 'error' means one accept() failed (EMFILE, ENFILE, ...): libuv closes that
  // connection and keeps listening; the broker counts it and logs it (rate-limited).
  server.on('error', (err: NodeJS.ErrnoException) => broker.acceptFailed?.(err.code ?? 'EIO'));
  return server;
}

/** Stops accepting and removes the socket file (if it is still ours, and not systemd's). */
export async function closeUnix(server: Server, path: string): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!isAbstract(path) && !inherited.has(server)) {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  }
  // Last: until the socket file is gone, a starting daemon must still see the lock held.
  locks.get(server)?.release();
}
