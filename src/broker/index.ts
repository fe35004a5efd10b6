// udsbus/broker: the embeddable routing core. Attach any Conn; no sockets here.
export {
  Broker,
  type BrokerOptions,
  type BrokerStatus,
  type ClientStatus,
  type PersistedState,
} from './broker.js';
export type { Attachable, Conn, ConnEvents } from '../protocol/conn.js';
export { TxQueue, WHOLE_FRAME } from './tx-queue.js';
export { SubjectIndex, Route } from './subject-index.js';
export { OPEN_POLICY, VERBS, type Policy, type PolicyRule, type Verb } from './policy.js';
export { DaemonProducer, type ProducerControl } from './producer.js';
export type { SourceHost } from './commands.js';
export {
  MAX_TIMER_INTERVAL_MS,
  daemonNameProblem,
  type TimerInfo,
  type TimerSpec,
} from './timers.js';
