// udsbus as a benchmark bus: the worker-side adapter over the client library.
// Imports only the client library.
import { connect, type Client, type GapInfo } from '../../src/client/index.js';
import type { AdapterOptions, BenchAdapter } from './types.js';

class UdsbusBus implements BenchAdapter {
  readonly #client: Client;
  #closedBy: string | undefined;
  #gaps = 0;
  #closing = false;

  constructor(client: Client) {
    this.#client = client;
    client.on('close', (err?: Error) => {
      if (err && !this.#closing) this.#closedBy = err.message;
    });
    client.on('error', (err: Error) => {
      this.#closedBy ??= err.message;
    });
  }

  note(): string | undefined {
    const parts = [];
    if (this.#closedBy !== undefined) parts.push(`connection closed: ${this.#closedBy}`);
    if (this.#gaps > 0) parts.push(`daemon reported ${this.#gaps} dropped`);
    return parts.length > 0 ? parts.join('; ') : undefined;
  }

  publish(subject: string, data: Uint8Array): boolean {
    return this.#client.publish(subject, data);
  }

  waitDrain(): Promise<void> {
    return new Promise((resolve) => this.#client.once('drain', () => resolve()));
  }

  flush(): Promise<void> {
    return this.#client.flush();
  }

  async subscribe(subject: string, onMessage: (data: Uint8Array) => void): Promise<void> {
    const sub = this.#client.subscribe(subject, (msg) => onMessage(msg.data));
    sub.on('gap', (info: GapInfo) => {
      this.#gaps += info.lost;
    });
    await this.#client.flush();
  }

  async serve(subject: string, handler: (data: Uint8Array) => Uint8Array): Promise<void> {
    this.#client.serve(subject, (msg) => handler(msg.data));
    await this.#client.flush();
  }

  async request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    const reply = await this.#client.request(subject, data, { timeoutMs });
    return reply.data;
  }

  close(): Promise<void> {
    this.#closing = true;
    return this.#client.close({ drainTimeoutMs: 500 });
  }
}

/** Adapter factory loaded by bench-worker. */
export async function create(options: AdapterOptions): Promise<BenchAdapter> {
  const client = await connect({ path: options.endpoint, name: options.name, reconnect: false });
  return new UdsbusBus(client);
}
