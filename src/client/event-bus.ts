// EventBus: an EventEmitter-shaped adapter over a Client: emit() publishes JSON, on() subscribes.

import type { Client } from './client.js';
import type { Subscription } from './subscription.js';

type Listener = (value: unknown, subject: string) => void;

/** `bus.emit('user.login', obj)` publishes; `bus.on('user.*', fn)` subscribes. Values travel as JSON. */
export class EventBus {
  readonly client: Client;
  #subs = new Map<Listener, Subscription[]>();

  constructor(client: Client) {
    this.client = client;
  }

  emit(subject: string, value: unknown): boolean {
    return this.client.publish(subject, JSON.stringify(value ?? null));
  }

  on(subject: string, listener: Listener): this {
    const sub = this.client.subscribe(subject, (msg) => {
      let value: unknown;
      try {
        value = JSON.parse(new TextDecoder().decode(msg.data));
      } catch {
        throw new TypeError(`EventBus: the message on ${msg.subject} is not JSON`);
      }
      listener(value, msg.subject);
    });
    const list = this.#subs.get(listener) ?? [];
    list.push(sub);
    this.#subs.set(listener, list);
    return this;
  }

  off(subject: string, listener: Listener): this {
    const list = this.#subs.get(listener);
    if (list === undefined) return this;
    for (const sub of list.filter((s) => s.subject === subject)) sub.unsubscribe();
    this.#subs.set(
      listener,
      list.filter((s) => s.subject !== subject),
    );
    return this;
  }
}
