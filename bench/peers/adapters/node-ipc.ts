// node-ipc peer (12.0.0, JSON events over a Unix socket) against bench/peers/servers/
// node-ipc-server. Binary payloads travel base64-encoded inside the JSON events.
import { once } from 'node:events';
import { IPCModule } from 'node-ipc';
import type { AdapterOptions, BenchAdapter } from '../../harness/types.js';
import { asBuffer } from './common.js';

const ID = 'bus';
const HIGH_WATER = 1 << 20;

type Client = NonNullable<IPCModule['of'][string]>;

class NodeIpcBus implements BenchAdapter {
  readonly #ipc: IPCModule;
  readonly #c: Client;
  #nextId = 1;
  readonly #pending = new Map<number, (d: Uint8Array) => void>();
  #pings = 0;
  readonly #pongs = new Map<number, () => void>();

  constructor(ipc: IPCModule, c: Client) {
    this.#ipc = ipc;
    this.#c = c;
    c.on('pong', (d: { n: number }) => {
      this.#pongs.get(d.n)?.();
      this.#pongs.delete(d.n);
    });
  }

  #reply(event: string): Promise<void> {
    return new Promise((resolve) => {
      const h = (): void => {
        this.#c.off(event, h);
        resolve();
      };
      this.#c.on(event, h);
    });
  }

  publish(_subject: string, data: Uint8Array): boolean {
    this.#c.emit('pub', { d: asBuffer(data).toString('base64') });
    return this.#c.socket.writableLength < HIGH_WATER;
  }

  async waitDrain(): Promise<void> {
    if (this.#c.socket.writableLength >= HIGH_WATER) await once(this.#c.socket, 'drain');
  }

  flush(): Promise<void> {
    const n = ++this.#pings;
    const p = new Promise<void>((resolve) => this.#pongs.set(n, resolve));
    this.#c.emit('ping', { n });
    return p;
  }

  async subscribe(_subject: string, onMessage: (data: Uint8Array) => void): Promise<void> {
    this.#c.on('msg', (m: { d: string }) => onMessage(Buffer.from(m.d, 'base64')));
    const ok = this.#reply('subok');
    this.#c.emit('sub', {});
    await ok;
  }

  async serve(_subject: string, handler: (data: Uint8Array) => Uint8Array): Promise<void> {
    this.#c.on('req', (m: { id: number; d: string }) => {
      const out = handler(Buffer.from(m.d, 'base64'));
      this.#c.emit('rep', { id: m.id, d: asBuffer(out).toString('base64') });
    });
    const ok = this.#reply('serveok');
    this.#c.emit('serve', {});
    await ok;
  }

  request(_subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (this.#nextId === 1) {
      this.#c.on('rep', (m: { id: number; d: string }) => {
        const r = this.#pending.get(m.id);
        this.#pending.delete(m.id);
        r?.(Buffer.from(m.d, 'base64'));
      });
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error('request timed out'));
      }, timeoutMs);
      this.#pending.set(id, (d) => {
        clearTimeout(timer);
        resolve(d);
      });
      this.#c.emit('req', { id, d: asBuffer(data).toString('base64') });
    });
  }

  async close(): Promise<void> {
    this.#ipc.disconnect(ID);
    await Promise.resolve();
  }
}

export async function create(options: AdapterOptions): Promise<BenchAdapter> {
  const ipc = new IPCModule();
  ipc.config.silent = true;
  ipc.config.id = options.name;
  ipc.config.stopRetrying = true;
  ipc.config.maxRetries = 0;
  const client = await new Promise<Client>((resolve, reject) => {
    ipc.connectTo(ID, options.endpoint, () => {
      const c = ipc.of[ID];
      if (!c) {
        reject(new Error('node-ipc: no client'));
        return;
      }
      c.on('connect', () => resolve(c));
      c.on('error', (e: unknown) => reject(e instanceof Error ? e : new Error(String(e))));
    });
  });
  const bus = new NodeIpcBus(ipc, client);
  await bus.flush();
  return bus;
}
