// The client's default dialer: a Unix socket (path or `@abstract`) as a Link. A connect refused
// with EAGAIN (listen backlog full; Unix sockets do not retry like TCP) is retried with backoff
// until the caller's connect timeout destroys the link. Imports node:net (a type), transport/.

import type { Socket } from 'node:net';
import { connectSocket } from './connect.js';
import type { DialOptions, Link, LinkHandlers } from './link.js';
import { setSendBuffer } from './sock-buf.js';

/** First and largest pause between connect attempts while the backlog is full, ms. */
const RETRY_FIRST_MS = 2;
const RETRY_MAX_MS = 100;

/** Dials the daemon's Unix socket at `path`. */
export function dialUnix(path: string, handlers: LinkHandlers, options: DialOptions): Link {
  let socket: Socket;
  let connected = false;
  let gone = false;
  let retryMs = RETRY_FIRST_MS;
  let retry: NodeJS.Timeout | undefined;

  const open = (): void => {
    retry = undefined;
    const s = connectSocket(path);
    socket = s;
    s.on('connect', () => {
      connected = true;
      s.setNoDelay?.(true);
      setSendBuffer(s, options.sockBuf);
      handlers.connect();
    });
    s.on('data', (chunk: Buffer) => {
      // A plain Uint8Array view: frame and payload views cut from it are cheaper than Buffer slices.
      handlers.data(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    });
    s.on('drain', () => handlers.drain());
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected && !gone && err.code === 'EAGAIN') {
        // Backlog full: this socket is done, another attempt follows; the owner sees nothing.
        s.removeAllListeners('close');
        retry = setTimeout(open, retryMs);
        retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
        return;
      }
      handlers.error(err);
    });
    s.on('close', () => handlers.close());
  };
  open();

  const stop = (err?: Error): void => {
    gone = true;
    if (retry !== undefined) {
      // Between attempts: no socket to close, so report the end ourselves.
      clearTimeout(retry);
      retry = undefined;
      if (err !== undefined) handlers.error(err);
      handlers.close();
      return;
    }
    socket.destroy(err);
  };
  return {
    write: (bytes, onFlushed) => socket.write(bytes, onFlushed),
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    end: () => {
      if (!connected) return stop();
      socket.end();
      // A daemon that never closes its side must not hold the client open.
      setTimeout(() => socket.destroy(), 1000).unref();
    },
    destroy: (err) => stop(err),
  };
}
