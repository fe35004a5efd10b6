// Where the bus socket lives: $UDSBUS_SOCKET, else $XDG_RUNTIME_DIR/udsbus/bus.sock, else
// /tmp/udsbus-<uid>/bus.sock. A leading `@` names a Linux abstract socket.

import { join } from 'node:path';

/** The default socket path for this user and environment. */
export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env['UDSBUS_SOCKET'];
  if (explicit !== undefined && explicit !== '') return explicit;
  const runtime = env['XDG_RUNTIME_DIR'];
  if (runtime !== undefined && runtime !== '') return join(runtime, 'udsbus', 'bus.sock');
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return join('/tmp', `udsbus-${uid}`, 'bus.sock');
}

/** True for `@name` (abstract namespace). */
export function isAbstract(path: string): boolean {
  return path.startsWith('@');
}
