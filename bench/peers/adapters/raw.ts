// The raw ceilings' client: length-prefixed frames over Unix sockets, batched into one write
// per tick. Variant `relay` talks through raw-relay; variant `p2p` connects the writer straight
// to the reader (subscribers and responders listen on their own sockets in the endpoint dir).
import { connect, createServer, type Server, type Socket } from 'node:net';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import type { AdapterOptions, BenchAdapter } from '../../harness/types.js';
import { DEFAULT_SOCK_BUF, setSendBuffer } from '../../../src/transport/sock-buf.js';
import { forEachFrame, FrameSplitter, ROLE } from './raw-frames.js';

const BATCH = 256 * 1024;

class RawBus implements BenchAdapter {
  /** Where publishes and requests go (one socket via the relay, N sockets point to point). */
  readonly #out: Socket[] = [];
  #server: Server | undefined;
  #buf = Buffer.allocUnsafe(BATCH);
  #used = 0;
  #scheduled = false;
  #ok = true;
  #onFrame: (body: Buffer) => void = () => undefined;
  #serveHandler: ((d: Uint8Array) => Uint8Array) | undefined;
  readonly #replies: ((d: Uint8Array) => void)[] = [];

  constructor(readonly options: AdapterOptions) {}

  /** Reads frames from a socket; a responder answers on the socket the request came from. */
  attach(sock: Socket): void {
    setSendBuffer(sock, DEFAULT_SOCK_BUF); // as udsbus does: same conditions for the ceiling
    const splitter = new FrameSplitter();
    const onRegion = (region: Buffer): void => {
      if (this.#serveHandler) {
        const h = this.#serveHandler;
        forEachFrame(region, (body) => this.#append(h(body), [sock]));
        this.#flushBatch([sock]);
      } else {
        forEachFrame(region, this.#onFrame);
      }
    };
    sock.on('data', (chunk: Buffer) => splitter.push(chunk, onRegion));
    sock.on('error', () => undefined);
  }

  async listen(path: string): Promise<void> {
    this.#server = createServer((sock) => this.attach(sock));
    this.#server.listen(path);
    await once(this.#server, 'listening');
  }

  addOut(sock: Socket): void {
    this.#out.push(sock);
  }

  #append(data: Uint8Array, to: Socket[]): void {
    const need = 4 + data.length;
    if (this.#used + need > this.#buf.length) this.#flushBatch(to);
    if (need > this.#buf.length) {
      const head = Buffer.allocUnsafe(4);
      head.writeUInt32LE(data.length, 0);
      for (const s of to) {
        s.write(head);
        this.#ok = s.write(data) && this.#ok;
      }
      return;
    }
    this.#buf.writeUInt32LE(data.length, this.#used);
    this.#buf.set(data, this.#used + 4);
    this.#used += need;
  }

  #flushBatch(to: Socket[]): void {
    this.#scheduled = false;
    if (this.#used === 0) return;
    const out = this.#buf.subarray(0, this.#used);
    this.#buf = Buffer.allocUnsafe(BATCH);
    this.#used = 0;
    let ok = true;
    for (const s of to) ok = s.write(out) && ok;
    this.#ok = ok;
  }

  readonly #flushOut = (): void => this.#flushBatch(this.#out);

  publish(_subject: string, data: Uint8Array): boolean {
    this.#append(data, this.#out);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flushOut);
    }
    return this.#ok;
  }

  async waitDrain(): Promise<void> {
    this.#flushOut();
    await Promise.all(this.#out.filter((s) => s.writableNeedDrain).map((s) => once(s, 'drain')));
    this.#ok = true;
  }

  async flush(): Promise<void> {
    this.#flushOut();
    await Promise.all(this.#out.filter((s) => s.writableLength > 0).map((s) => once(s, 'drain')));
  }

  subscribe(_subject: string, onMessage: (data: Uint8Array) => void): Promise<void> {
    this.#onFrame = onMessage;
    return Promise.resolve();
  }

  serve(_subject: string, handler: (data: Uint8Array) => Uint8Array): Promise<void> {
    this.#serveHandler = handler;
    return Promise.resolve();
  }

  /** Replies come back in order on the same stream (one responder), so a FIFO matches them. */
  request(_subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    this.#append(data, this.#out);
    this.#flushOut();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('request timed out')), timeoutMs);
      this.#replies.push((d) => {
        clearTimeout(timer);
        resolve(d);
      });
    });
  }

  readonly onReply = (body: Uint8Array): void => this.#replies.shift()?.(body);

  async close(): Promise<void> {
    for (const s of this.#out) s.destroy();
    this.#server?.close();
    await Promise.resolve();
  }
}

async function dial(path: string): Promise<Socket> {
  const sock = connect(path);
  await once(sock, 'connect');
  sock.setNoDelay?.(true);
  setSendBuffer(sock, DEFAULT_SOCK_BUF);
  return sock;
}

/** Relay handshake: one role byte out, one ack byte back; the rest of the stream is frames. */
async function dialRelay(path: string, role: number): Promise<{ sock: Socket; rest: Buffer }> {
  const sock = await dial(path);
  sock.write(Buffer.from([role]));
  const [first] = (await once(sock, 'data')) as [Buffer];
  return { sock, rest: first.subarray(1) };
}

export async function create(options: AdapterOptions): Promise<BenchAdapter> {
  const bus = new RawBus(options);
  const sending = options.role === 'pub' || options.role === 'requester';
  if (options.variant === 'p2p') {
    if (sending) {
      const prefix = options.role === 'pub' ? 'sub-' : 'responder-';
      const targets = readdirSync(options.endpoint).filter(
        (f) => f.startsWith(prefix) && f.endsWith('.sock'),
      );
      if (targets.length === 0) throw new Error(`no ${prefix}*.sock in ${options.endpoint}`);
      for (const t of targets) {
        const sock = await dial(join(options.endpoint, t));
        bus.addOut(sock);
        if (options.role === 'requester') {
          await bus.subscribe('', bus.onReply);
          bus.attach(sock);
        }
      }
    } else if (options.role !== 'idle') {
      await bus.listen(join(options.endpoint, `${options.role}-${process.pid}.sock`));
    }
    return bus;
  }
  const role = sending ? ROLE.A : options.role === 'idle' ? ROLE.IDLE : ROLE.B;
  const { sock, rest } = await dialRelay(options.endpoint, role);
  bus.addOut(sock);
  if (options.role === 'requester') await bus.subscribe('', bus.onReply);
  bus.attach(sock);
  if (rest.length > 0) sock.emit('data', rest);
  return bus;
}
