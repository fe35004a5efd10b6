// Redis pub/sub peer (ioredis over a Unix socket). Request/reply is emulated: the requester
// subscribes to its own inbox channel and the responder publishes the answer there.
import { Redis } from 'ioredis';
import type { AdapterOptions, BenchAdapter } from '../../harness/types.js';
import { asBuffer, Requests, unwrapRequest, Window, wrapReply, wrapRequest } from './common.js';

const ignore = (): void => undefined;

function open(path: string, name: string): Redis {
  return new Redis({
    path,
    connectionName: name,
    lazyConnect: true,
    // Batches the commands issued in one tick into one write: ioredis' own fast path.
    enableAutoPipelining: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
}

class RedisBus implements BenchAdapter {
  readonly #cmd: Redis;
  #sub: Redis | undefined;
  readonly #window = new Window(4096);
  readonly #requests = new Requests();
  readonly #inbox: Buffer;

  constructor(
    readonly options: AdapterOptions,
    cmd: Redis,
  ) {
    this.#cmd = cmd;
    this.#inbox = Buffer.from(`_INBOX.${process.pid}.${options.name}`);
  }

  async #subscriber(): Promise<Redis> {
    if (!this.#sub) {
      this.#sub = open(this.options.endpoint, `${this.options.name}-sub`);
      await this.#sub.connect();
    }
    return this.#sub;
  }

  publish(subject: string, data: Uint8Array): boolean {
    const ok = this.#window.acquire();
    this.#cmd.publish(subject, asBuffer(data)).then(this.#window.release, this.#window.release);
    return ok;
  }

  waitDrain(): Promise<void> {
    return this.#window.wait();
  }

  async flush(): Promise<void> {
    await this.#window.idle();
    await this.#cmd.ping();
  }

  async subscribe(subject: string, onMessage: (data: Uint8Array) => void): Promise<void> {
    const sub = await this.#subscriber();
    sub.on('messageBuffer', (_channel: Buffer, message: Buffer) => onMessage(message));
    await sub.subscribe(subject);
  }

  async serve(subject: string, handler: (data: Uint8Array) => Uint8Array): Promise<void> {
    const sub = await this.#subscriber();
    sub.on('messageBuffer', (_channel: Buffer, message: Buffer) => {
      const req = unwrapRequest(message);
      this.#cmd.publish(req.inbox, wrapReply(req.id, handler(req.body))).catch(ignore);
    });
    await sub.subscribe(subject);
  }

  async request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (!this.#sub) {
      const sub = await this.#subscriber();
      sub.on('messageBuffer', (_channel: Buffer, message: Buffer) => {
        this.#requests.settle(message);
      });
      await sub.subscribe(this.#inbox.toString('latin1'));
    }
    const { id, reply } = this.#requests.add(timeoutMs);
    this.#cmd.publish(subject, wrapRequest(this.#inbox, id, data)).catch(ignore);
    return reply;
  }

  async close(): Promise<void> {
    this.#sub?.disconnect();
    this.#cmd.disconnect();
    await Promise.resolve();
  }
}

export async function create(options: AdapterOptions): Promise<BenchAdapter> {
  const cmd = open(options.endpoint, options.name);
  await cmd.connect();
  return new RedisBus(options, cmd);
}
