// udsbus/protocol: the pure wire codec (framing, frame layouts, subjects, errors), for clients
// in other runtimes and for tools. No I/O. Explicit exports; hot-path internals stay inside.
export {
  BusError,
  BufferFullError,
  ErrorCode,
  WIRE_ERROR_CODES,
  isErrorCode,
  isWireErrorCode,
  protocolError,
  type BusErrorOptions,
  type ErrorCodeValue,
  type WireErrorCode,
} from './errors.js';
export {
  DEFAULT_MAX_FRAME,
  DAEMON_FRAME_SLACK,
  EXTRAS_FLAGS,
  Flag,
  HELLO_MAGIC,
  MSG_FLAGS,
  Op,
  PROTOCOL_VERSION,
  REPLY_STATUS_ERRORS,
  ReplyStatus,
  ResStatus,
  SlowPolicy,
  type ReplyStatusValue,
  type SlowPolicyValue,
} from './constants.js';
export { readVarint, varintSize, writeVarint } from './varint.js';
export { FrameDecoder, type FrameHandler, type RangeHandler } from './frame-decoder.js';
export { MAX_SUBJECT, subjectProblem } from './subject.js';
export { SubjectCache } from './subject-cache.js';
export { toBytes } from './bytes.js';
export { CBOR_LIMITS, decodeCbor, encodeCbor, type CborLimits } from './cbor.js';
export {
  MAX_HEADERS,
  encodeExtras,
  type DecodedTail,
  type EncodedExtras,
  type MessageExtras,
} from './extras.js';
export {
  decodePub,
  decodeReq,
  decodeRes,
  decodeSend,
  encodePub,
  encodeReq,
  encodeRes,
  encodeSend,
  messageTail,
  type PubFields,
  type ReqFields,
  type ResFields,
  type SendFields,
  type SubjectReader,
} from './message-frames.js';
export {
  ENVELOPE_FIXED,
  decodeGap,
  decodeMsg,
  decodeReply,
  encodeGap,
  encodeMsg,
  encodeReply,
  envelopeSize,
  writeEnvelope,
  type GapFields,
  type MsgFields,
  type ReplyFields,
} from './delivery-frames.js';
export {
  decodeCall,
  decodeCallReply,
  decodeClientHello,
  decodeError,
  decodeServerHello,
  decodeSub,
  decodeUnsub,
  encodeBare,
  encodeCall,
  encodeCallReply,
  encodeClientHello,
  encodeError,
  encodeHello,
  encodeServerHello,
  encodeSub,
  encodeUnsub,
  errorFromFrame,
  frame,
  helloVersion,
  type CallFields,
  type CallReplyFields,
  type ClientHello,
  type ErrorFields,
  type ServerHello,
  type SubFields,
} from './control-frames.js';
export { MsgView } from './msg-view.js';
export { ManualClock, systemClock, type Clock, type TimerHandle } from './clock.js';
export type { BrokerStatus, ClientStatus, StatusTotals, SubjectStatus } from './status.js';
export type { Attachable, Conn, ConnEvents, PeerCredentials } from './conn.js';
