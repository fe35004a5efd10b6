// Connecting to a bus socket: a path socket only when this user can trust it (socket-trust.ts);
// `@name` at its exact address length through the native helper (libuv pads it to 108 bytes,
// D-Bus, systemd and socat do not). Imports node:net, protocol/errors and transport/.

import { Socket, type Server } from 'node:net';
import { BusError, ErrorCode } from '../protocol/errors.js';
import { nativeHelper, nativeProblem, type NativeHelper } from './sock-buf.js';
import { isAbstract } from './socket-path.js';
import { currentUid, socketProblem } from './socket-trust.js';

/** The helper, or a clear error: without it an abstract name cannot be bound or reached exactly. */
function helperFor(path: string): NativeHelper {
  const h = nativeHelper();
  if (h === null)
    throw new BusError(
      ErrorCode.CONNECT,
      `abstract socket ${path} needs the native helper, which is not built (${nativeProblem()}); ` +
        'use a path socket or rebuild with `npm run build:native`',
    );
  return h;
}

/** Binds `@name` and starts `server` accepting on it. */
export async function listenAbstract(server: Server, path: string, backlog: number): Promise<void> {
  let fd: number;
  try {
    fd = helperFor(path).listenAbstract(path.slice(1), backlog);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new BusError(ErrorCode.ADDRESS_IN_USE, `a daemon is already listening on ${path}`);
    throw err;
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Node calls listen() again on the fd: give it the same backlog, or it resets it to 511
    // (for an fd, Node reads the backlog from the second argument only).
    server.listen({ fd }, backlog, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** A socket that fails with `err` once the caller has attached its handlers. */
function failedSocket(err: Error): Socket {
  const socket = new Socket();
  process.nextTick(() => socket.destroy(err));
  return socket;
}

/**
 * A socket connecting to `path` (a file path, or `@name` at its exact length). Like
 * net.createConnection: it emits 'connect' or 'error' later, never throws. A path socket is
 * refused (BUS_ERR_CONNECT, fatal) when socketProblem finds it untrustworthy.
 */
export function connectSocket(path: string): Socket {
  if (!isAbstract(path)) {
    const problem = socketProblem(path, currentUid());
    if (problem === null) return new Socket().connect(path);
    return failedSocket(
      new BusError(ErrorCode.CONNECT, `refusing to connect to ${path}: ${problem}`, {
        fatal: true,
      }),
    );
  }
  let fd: number;
  try {
    fd = helperFor(path).connectAbstract(path.slice(1));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return failedSocket(
      err instanceof BusError
        ? err
        : Object.assign(new Error(`connect ${e.code ?? 'EIO'} ${path}`), { code: e.code }),
    );
  }
  const socket = new Socket({ fd, readable: true, writable: true });
  // Connected already (a Unix connect completes at once or fails): say so like a dialled socket.
  process.nextTick(() => socket.emit('connect'));
  return socket;
}
