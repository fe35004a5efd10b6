// D-Bus peer: a private dbus-daemon, dbus-next low-level messages. Pub/sub = signals with an
// `ay` body matched by AddMatch; request/reply = method calls to a well-known name.
import dbus from 'dbus-next';
import type { AdapterOptions, BenchAdapter } from '../../harness/types.js';
import { asBuffer, FlushWindow } from './common.js';

const IFACE = 'org.udsbus.Bench';
const PATH = '/org/udsbus/Bench';
const SERVICE = 'org.udsbus.BenchService';

/** D-Bus member names allow [A-Za-z0-9_] only. */
const member = (subject: string): string => subject.replace(/[^A-Za-z0-9_]/g, '_');

function busCall(bus: dbus.MessageBus, name: string, signature = '', body: unknown[] = []) {
  return bus.call(
    new dbus.Message({
      destination: 'org.freedesktop.DBus',
      path: '/org/freedesktop/DBus',
      interface: 'org.freedesktop.DBus',
      member: name,
      signature,
      body,
    }),
  );
}

class DbusBus implements BenchAdapter {
  readonly #bus: dbus.MessageBus;
  readonly #window: FlushWindow;

  constructor(bus: dbus.MessageBus) {
    this.#bus = bus;
    // dbus-next's send() has no backpressure signal: bound the run-ahead with round trips.
    this.#window = new FlushWindow(() => busCall(bus, 'GetId'), 256, 4);
  }

  publish(subject: string, data: Uint8Array): boolean {
    this.#bus.send(dbus.Message.newSignal(PATH, IFACE, member(subject), 'ay', [asBuffer(data)]));
    return this.#window.tick();
  }

  waitDrain(): Promise<void> {
    return this.#window.wait();
  }

  async flush(): Promise<void> {
    await busCall(this.#bus, 'GetId');
  }

  async subscribe(subject: string, onMessage: (data: Uint8Array) => void): Promise<void> {
    const m = member(subject);
    this.#bus.on('message', (msg: dbus.Message) => {
      if (msg.type === dbus.MessageType.SIGNAL && msg.member === m) {
        onMessage(msg.body[0] as Buffer);
      }
    });
    await busCall(this.#bus, 'AddMatch', 's', [`type='signal',interface='${IFACE}',member='${m}'`]);
  }

  async serve(subject: string, handler: (data: Uint8Array) => Uint8Array): Promise<void> {
    const m = member(subject);
    this.#bus.addMethodHandler((msg: dbus.Message) => {
      if (msg.interface !== IFACE || msg.member !== m) return false;
      const reply = handler(msg.body[0] as Buffer);
      this.#bus.send(dbus.Message.newMethodReturn(msg, 'ay', [asBuffer(reply)]));
      return true;
    });
    await this.#bus.requestName(SERVICE, dbus.NameFlag.DO_NOT_QUEUE);
  }

  async request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    const call = this.#bus.call(
      new dbus.Message({
        destination: SERVICE,
        path: PATH,
        interface: IFACE,
        member: member(subject),
        signature: 'ay',
        body: [asBuffer(data)],
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('request timed out')), timeoutMs);
    });
    try {
      const reply = await Promise.race([call, timeout]);
      return (reply?.body[0] as Buffer | undefined) ?? new Uint8Array(0);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.#bus.disconnect();
    await Promise.resolve();
  }
}

export async function create(options: AdapterOptions): Promise<BenchAdapter> {
  const bus = dbus.sessionBus({ busAddress: `unix:path=${options.endpoint}` });
  // The Hello round trip is done once a unique name is assigned.
  await new Promise<void>((resolve, reject) => {
    bus.once('connect', () => resolve());
    bus.once('error', (err: unknown) =>
      reject(err instanceof Error ? err : new Error(String(err))),
    );
  });
  await busCall(bus, 'GetId');
  return new DbusBus(bus);
}
