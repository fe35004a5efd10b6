// MQTT peer: Mosquitto 2 over a Unix socket with mqtt.js; variant `qos0` or `qos1`.
// Request/reply is emulated with a per-requester inbox topic (MQTT 3.1.1 has none).
import mqtt, { type MqttClient } from 'mqtt';
import type { AdapterOptions, BenchAdapter } from '../../harness/types.js';
import { asBuffer, Requests, unwrapRequest, Window, wrapReply, wrapRequest } from './common.js';

type Qos = 0 | 1;

/** MQTT topics use `/`, not `.`. */
const topic = (subject: string): string => subject.replaceAll('.', '/');

class MqttBus implements BenchAdapter {
  readonly #client: MqttClient;
  readonly #qos: Qos;
  readonly #window: Window;
  readonly #requests = new Requests();
  readonly #inbox: Buffer;
  #inboxReady: Promise<void> | undefined;
  readonly #handlers = new Map<string, (payload: Buffer) => void>();

  constructor(client: MqttClient, qos: Qos, name: string) {
    this.#client = client;
    this.#qos = qos;
    // QoS 0: the callback fires once written; QoS 1: once PUBACKed.
    // mqtt.js adds a drain listener per packet written to a full socket: stay below 1000.
    this.#window = new Window(512);
    this.#inbox = Buffer.from(`_inbox/${process.pid}/${name}`);
    client.on('message', (t, payload) => this.#handlers.get(t)?.(payload));
  }

  publish(subject: string, data: Uint8Array): boolean {
    const ok = this.#window.acquire();
    this.#client.publish(topic(subject), asBuffer(data), { qos: this.#qos }, this.#window.release);
    return ok;
  }

  waitDrain(): Promise<void> {
    return this.#window.wait();
  }

  async flush(): Promise<void> {
    await this.#window.idle();
    // A QoS 1 publish is acknowledged after everything sent before it was processed.
    await this.#client.publishAsync('_bench/flush', '', { qos: 1 });
  }

  async #sub(t: string, fn: (payload: Buffer) => void): Promise<void> {
    this.#handlers.set(t, fn);
    await this.#client.subscribeAsync(t, { qos: this.#qos });
  }

  subscribe(subject: string, onMessage: (data: Uint8Array) => void): Promise<void> {
    return this.#sub(topic(subject), onMessage);
  }

  serve(subject: string, handler: (data: Uint8Array) => Uint8Array): Promise<void> {
    return this.#sub(topic(subject), (payload) => {
      const req = unwrapRequest(payload);
      this.#client.publish(req.inbox, wrapReply(req.id, handler(req.body)), { qos: this.#qos });
    });
  }

  async request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    this.#inboxReady ??= this.#sub(this.#inbox.toString('latin1'), (p) => {
      this.#requests.settle(p);
    });
    await this.#inboxReady;
    const { id, reply } = this.#requests.add(timeoutMs);
    this.#client.publish(topic(subject), wrapRequest(this.#inbox, id, data), { qos: this.#qos });
    return reply;
  }

  async close(): Promise<void> {
    await this.#client.endAsync(true);
  }
}

export async function create(options: AdapterOptions): Promise<BenchAdapter> {
  const qos: Qos = options.variant === 'qos1' ? 1 : 0;
  const client = await mqtt.connectAsync({
    protocol: 'mqtt',
    unixSocket: true,
    path: options.endpoint,
    clientId: `${options.name}-${process.pid}`,
    clean: true,
    reconnectPeriod: 0,
    keepalive: 600,
  });
  return new MqttBus(client, qos, options.name);
}
