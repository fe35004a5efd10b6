// NATS peer (nats.js over TCP loopback: nats-server has no Unix socket listener).
import { connect, type NatsConnection } from 'nats';
import type { AdapterOptions, BenchAdapter } from '../../harness/types.js';
import { FlushWindow } from './common.js';

class NatsBus implements BenchAdapter {
  readonly #nc: NatsConnection;
  readonly #window: FlushWindow;

  constructor(nc: NatsConnection) {
    this.#nc = nc;
    // nats.js buffers publishes without a signal; bound how far ahead we run with PING/PONG.
    this.#window = new FlushWindow(() => nc.flush(), 8192, 8);
  }

  publish(subject: string, data: Uint8Array): boolean {
    this.#nc.publish(subject, data);
    return this.#window.tick();
  }

  waitDrain(): Promise<void> {
    return this.#window.wait();
  }

  flush(): Promise<void> {
    return this.#nc.flush();
  }

  async subscribe(subject: string, onMessage: (data: Uint8Array) => void): Promise<void> {
    this.#nc.subscribe(subject, {
      callback: (_err, msg) => onMessage(msg.data),
    });
    await this.#nc.flush();
  }

  async serve(subject: string, handler: (data: Uint8Array) => Uint8Array): Promise<void> {
    this.#nc.subscribe(subject, {
      callback: (_err, msg) => {
        msg.respond(handler(msg.data));
      },
    });
    await this.#nc.flush();
  }

  async request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    const m = await this.#nc.request(subject, data, { timeout: timeoutMs });
    return m.data;
  }

  async close(): Promise<void> {
    await this.#nc.close();
  }
}

export async function create(options: AdapterOptions): Promise<BenchAdapter> {
  const nc = await connect({
    servers: options.endpoint,
    name: options.name,
    reconnect: false,
    noEcho: true,
  });
  return new NatsBus(nc);
}
