// Timers that watch the peers on the broker's clock: keepalive PINGs, the idle timeout (a peer
// silent for half of it is PINGed; only one that does not answer is cut), and the end of a slow
// consumer's grace period when no traffic arrives. Imports only protocol/ and broker/.

import type { TimerHandle } from '../protocol/clock.js';
import { ErrorCode } from '../protocol/errors.js';
import { Op } from '../protocol/constants.js';
import { encodeBare } from '../protocol/control-frames.js';
import type { BrokerCore } from './core.js';
import { slowDisconnect } from './delivery.js';

/** How often idle peers and slow consumers are checked, ms (more often for a short idle timeout). */
const SWEEP_MS = 1000;
const PING = encodeBare(Op.PING);

export class Keepalive {
  readonly #core: BrokerCore;
  #ping: TimerHandle;
  #sweep: TimerHandle;

  constructor(core: BrokerCore) {
    this.#core = core;
    const clock = core.options.clock;
    const idle = core.options.idleTimeoutMs;
    // A quarter of the idle timeout: the PING at half of it has time to be answered.
    const every = idle > 0 ? Math.min(SWEEP_MS, Math.max(1, Math.floor(idle / 4))) : SWEEP_MS;
    this.#sweep = clock.setInterval(() => this.#check(), every);
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
    const ping = PING;
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
      const silent = now - s.lastInput;
      if (o.idleTimeoutMs > 0 && silent >= o.idleTimeoutMs) {
        core.fail(s, ErrorCode.DISCONNECTED, `idle for ${o.idleTimeoutMs} ms`);
      } else if (o.idleTimeoutMs > 0 && silent >= o.idleTimeoutMs / 2 && s.pingsOut === 0) {
        // Silent for half the idle timeout: a PING asks for a sign of life; its PONG (any
        // input) counts as activity, so a subscriber that never publishes is not cut.
        s.pingsOut++;
        core.push(s, PING, 255);
      } else if (s.slowSince !== 0 && now - s.slowSince >= o.slowGraceMs) {
        // A `disconnect` subscriber whose queue stays full is cut off even without new traffic.
        slowDisconnect(core, s);
      }
    }
  }
}
