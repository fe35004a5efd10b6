// Timers that watch the peers, on the broker's clock: keepalive PINGs (a peer that leaves
// maxPingsOut unanswered is disconnected), the idle timeout, and the end of a slow consumer's
// grace period when no new traffic arrives. Imports only protocol/ and broker/.

import type { TimerHandle } from '../protocol/clock.js';
import { ErrorCode } from '../protocol/errors.js';
import { Op } from '../protocol/constants.js';
import { encodeBare } from '../protocol/control-frames.js';
import type { BrokerCore } from './core.js';
import { slowDisconnect } from './delivery.js';

/** How often idle peers and slow consumers are checked, ms. */
const SWEEP_MS = 1000;

export class Keepalive {
  readonly #core: BrokerCore;
  #ping: TimerHandle;
  #sweep: TimerHandle;

  constructor(core: BrokerCore) {
    this.#core = core;
    const clock = core.options.clock;
    this.#sweep = clock.setInterval(() => this.#check(), SWEEP_MS);
    if (core.options.pingMs > 0)
      this.#ping = clock.setInterval(() => this.#pingAll(), core.options.pingMs);
  }

  /** Stops every timer (shutdown). */
  stop(): void {
    const clock = this.#core.options.clock;
    clock.clearInterval(this.#sweep);
    clock.clearInterval(this.#ping);
  }

  /** PINGs every ready client; disconnects those that left maxPingsOut unanswered. */
  #pingAll(): void {
    const core = this.#core;
    const max = core.options.maxPingsOut;
    const ping = encodeBare(Op.PING);
    for (const s of core.sessions.values()) {
      if (!s.open) continue;
      if (s.pingsOut >= max) {
        core.fail(s, ErrorCode.DISCONNECTED, `${s.pingsOut} keepalive pings unanswered`);
        continue;
      }
      s.pingsOut++;
      core.push(s, ping, 255);
    }
  }

  #check(): void {
    const core = this.#core;
    const o = core.options;
    const now = o.clock.now();
    for (const s of core.sessions.values()) {
      if (!s.open) continue;
      if (o.idleTimeoutMs > 0 && now - s.lastInput >= o.idleTimeoutMs) {
        core.fail(s, ErrorCode.DISCONNECTED, `idle for ${o.idleTimeoutMs} ms`);
      } else if (s.slowSince !== 0 && now - s.slowSince >= o.slowGraceMs) {
        // A `disconnect` subscriber whose queue stays full is cut off even without new traffic.
        slowDisconnect(core, s);
      }
    }
  }
}
