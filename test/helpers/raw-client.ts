// A raw socket speaking bytes to the daemon, for tests that must send what the library won't.

import { createConnection, type Socket } from 'node:net';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { decodeError, encodeHello, type ErrorFields } from '../../src/protocol/control-frames.js';

export class RawClient {
  readonly socket: Socket;
  readonly frames: Uint8Array[] = [];
  readonly closed: Promise<void>;
  #decoder = new FrameDecoder(16 * 1024 * 1024);

  constructor(path: string) {
    this.socket = createConnection(path);
    this.socket.on('data', (chunk: Buffer) => {
      this.#decoder.push(chunk, (body) => this.frames.push(body.slice()));
    });
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => this.socket.on('close', () => resolve()));
  }

  static async open(path: string, hello = true, version = 1): Promise<RawClient> {
    const c = new RawClient(path);
    await new Promise<void>((resolve, reject) => {
      c.socket.once('connect', resolve);
      c.socket.once('error', reject);
    });
    if (hello) c.write(encodeHello(version, { name: 'raw' }));
    return c;
  }

  write(bytes: Uint8Array | number[]): void {
    this.socket.write(Uint8Array.from(bytes));
  }

  /** Resolves when the daemon closes the connection (fails after `ms`). */
  async waitClosed(ms = 3000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.closed,
      new Promise<never>(
        (_, reject) => (timer = setTimeout(() => reject(new Error('not closed')), ms)),
      ),
    ]);
    clearTimeout(timer);
  }

  /** The ERROR frames received so far. */
  errors(): ErrorFields[] {
    return this.frames.filter((f) => f[0] === 0x7f).map(decodeError);
  }
}
