// udsbus: the client library. `import { connect } from 'udsbus'`.
export { connect, Client } from './client.js';
export type { ClaimOptions, ClaimResult, NameInfo } from './client.js';
export {
  type ClientMetrics,
  type PublishOptions,
  type RequestOptions,
  type ClientOptions,
  type ConnectOptions,
  type ReconnectOptions,
  type SubscribeOptions,
} from './options.js';
export { type Reply } from './requests.js';
export { type ServeResult, type ServeHandler } from './responder.js';
export { Subscription, type Msg, type GapInfo } from './subscription.js';
export {
  Watch,
  type SetOptions,
  type StateEvent,
  type StateKeyInfo,
  type StateValue,
  type StateWrite,
} from './state.js';
export { EventBus, EventCodecs } from './event-bus.js';
export type { SourceOptions, TimerOptions } from './commands.js';
export type { SourceInfo, TimerInfo, TriggerResult } from '../protocol/commands.js';
export type { EventBusOptions, EventCodec } from './event-bus.js';
export { BusError, BufferFullError, ErrorCode, type ErrorCodeValue } from '../protocol/errors.js';
export { ManualClock, systemClock, type Clock } from '../protocol/clock.js';
export { defaultSocketPath } from '../transport/socket-path.js';
export { dialUnix } from '../transport/dial.js';
export { MemoryTransport, type Attachable } from '../transport/memory.js';
export type { Dialer, Link, LinkHandlers } from '../transport/link.js';
