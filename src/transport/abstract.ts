// Linux abstract sockets (`@name`) at their exact address length, through the native helper:
// libuv pads the name with NULs to 108 bytes, D-Bus, systemd and socat do not, and the kernel
// compares whole addresses. Imports node:net, protocol/errors and the helper loader.

import { Socket, type Server } from 'node:net';
import { BusError, ErrorCode } from '../protocol/errors.js';
import { nativeHelper, nativeProblem, type NativeHelper } from './sock-buf.js';
import { isAbstract } from './socket-path.js';

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
export async function listenAbstract(server: Server, path: string, backlog = 511): Promise<void> {
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
    server.listen({ fd }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * A socket connecting to `path` (a file path, or `@name` at its exact length). Like
 * net.createConnection: it emits 'connect' or 'error' later, never throws.
 */
export function connectSocket(path: string): Socket {
  if (!isAbstract(path)) return new Socket().connect(path);
  let fd: number;
  try {
    fd = helperFor(path).connectAbstract(path.slice(1));
  } catch (err) {
    const socket = new Socket();
    const e = err as NodeJS.ErrnoException;
    const cause =
      err instanceof BusError
        ? err
        : Object.assign(new Error(`connect ${e.code ?? 'EIO'} ${path}`), { code: e.code });
    process.nextTick(() => socket.destroy(cause));
    return socket;
  }
  const socket = new Socket({ fd, readable: true, writable: true });
  // Connected already (a Unix connect completes at once or fails): say so like a dialled socket.
  process.nextTick(() => socket.emit('connect'));
  return socket;
}
