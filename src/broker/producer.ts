// A producer inside the daemon (an event source): publishes as the daemon, and is paced by flow
// control like a client is: when a subscriber it feeds falls behind, its pause() is called (the
// daemon stops reading the source's file descriptor) and resume() once the subscriber drained.
// Imports only protocol/ and broker/.

import type { EncodedExtras } from '../protocol/extras.js';
import type { BrokerCore } from './core.js';
import { FlowState, forgetProducer, type Producer } from './flow-control.js';
import { SessionState, type SessionStateValue } from './session.js';
import { daemonPublish } from './sys-events.js';

/** What the owner of a producer does when flow control pauses or resumes it. */
export interface ProducerControl {
  pause(): void;
  resume(): void;
}

/** A daemon-side producer; see Broker.producer(). */
export class DaemonProducer implements Producer {
  readonly flow = new FlowState();
  readonly conn: ProducerControl;
  readonly #core: BrokerCore;
  #state: SessionStateValue = SessionState.READY;

  constructor(core: BrokerCore, control: ProducerControl) {
    this.#core = core;
    this.conn = control;
  }

  get state(): SessionStateValue {
    return this.#state;
  }

  /** True while some subscriber holds this producer paused. */
  get paused(): boolean {
    return this.flow.blockedBy.size > 0;
  }

  /**
   * Publishes `payload` on `subject` (valid, no wildcards) as the daemon; returns how many
   * subscriptions it went to (0: nobody listens, nothing was allocated).
   */
  publish(subject: string, payload: Uint8Array, extras?: EncodedExtras): number {
    if (this.#state === SessionState.CLOSED) return 0;
    return daemonPublish(this.#core, subject, payload, { extras, producer: this });
  }

  /** The producer is gone: nobody holds it, and it publishes nothing more. */
  close(): void {
    this.#state = SessionState.CLOSED;
    forgetProducer(this);
  }
}
