// udsbus: the client library. `import { connect } from 'udsbus'`.
export {
  connect,
  Client,
  type ConnectOptions,
  type PublishOptions,
  type RequestOptions,
  type Reply,
  type ReconnectOptions,
  type ClientMetrics,
  type ServeResult,
} from './client.js';
export { Subscription, type Msg, type GapInfo, type SubscribeOptions } from './subscription.js';
export { EventBus } from './event-bus.js';
export { BusError, BufferFullError, ErrorCode, type ErrorCodeValue } from '../protocol/errors.js';
export { defaultSocketPath } from '../transport/socket-path.js';
