// A subscription or responder registration of one session, with its loss accounting (the
// GAP to send and the totals). Imports only protocol/ and broker/.

import type { SlowPolicyValue } from '../protocol/constants.js';
import type { Session } from './session.js';

export class Sub {
  readonly session: Session;
  readonly sid: number;
  readonly subject: string;
  readonly queue: string | undefined;
  readonly serve: boolean;
  /** A monitor (monitor.ts): gets copies of what is routed, never the messages themselves. */
  monitor = false;
  readonly policy: SlowPolicyValue;
  /** Messages lost since the last GAP notice, and their id range. */
  gapLost = 0;
  gapFirst = 0;
  gapLast = 0;
  /** Messages lost on this subscription in total. */
  dropped = 0;
  delivered = 0;

  constructor(
    session: Session,
    sid: number,
    subject: string,
    queue: string | undefined,
    serve: boolean,
    policy: SlowPolicyValue,
  ) {
    this.session = session;
    this.sid = sid;
    this.subject = subject;
    this.queue = queue;
    this.serve = serve;
    this.policy = policy;
  }

  /** Counts message `id` as lost; true when it opens a new gap (a GAP notice is now owed). */
  countLoss(id: number): boolean {
    const opens = this.gapLost === 0;
    if (opens) this.gapFirst = id;
    this.gapLost++;
    this.gapLast = id;
    this.dropped++;
    return opens;
  }

  /** The losses to report in a GAP: [lost, firstId, lastId]; resets the count. */
  takeGap(): [number, number, number] {
    const gap: [number, number, number] = [this.gapLost, this.gapFirst, this.gapLast];
    this.gapLost = 0;
    return gap;
  }
}
