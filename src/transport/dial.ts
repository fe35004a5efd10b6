// The default dialer of the client: a Unix domain socket (path or `@abstract`) wrapped as a Link.
// Imports node:net (a type) and transport/ only.

import type { Socket } from 'node:net';
import { connectSocket } from './connect.js';
import type { DialOptions, Link, LinkHandlers } from './link.js';
import { setSendBuffer } from './sock-buf.js';

/** Dials the daemon's Unix socket at `path`. */
export function dialUnix(path: string, handlers: LinkHandlers, options: DialOptions): Link {
  const socket: Socket = connectSocket(path);
  socket.on('connect', () => {
    socket.setNoDelay?.(true);
    setSendBuffer(socket, options.sockBuf);
    handlers.connect();
  });
  socket.on('data', (chunk: Buffer) => {
    // A plain Uint8Array view: frame and payload views cut from it are cheaper than Buffer slices.
    handlers.data(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  });
  socket.on('drain', () => handlers.drain());
  socket.on('error', (err) => handlers.error(err));
  socket.on('close', () => handlers.close());
  return {
    write: (bytes, onFlushed) => socket.write(bytes, onFlushed),
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    end: () => {
      socket.end();
      // A daemon that never closes its side must not hold the client open.
      setTimeout(() => socket.destroy(), 1000).unref();
    },
    destroy: (err) => socket.destroy(err),
  };
}
