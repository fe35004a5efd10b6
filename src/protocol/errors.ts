// BusError: the one error class of udsbus, with a closed set of BUS_ERR_* codes.
// The same code strings travel in ERROR frames (docs/PROTOCOL.md lists them). Imports nothing.

/** Every error code udsbus uses, on the wire and in the API. */
export const ErrorCode = {
  /** A frame or its fields do not follow the protocol. Fatal for the connection. */
  PROTOCOL: 'BUS_ERR_PROTOCOL',
  /** A frame's announced length is above the negotiated maximum. Fatal. */
  FRAME_TOO_LARGE: 'BUS_ERR_FRAME_TOO_LARGE',
  /** The peer speaks another protocol version. Fatal. */
  VERSION: 'BUS_ERR_VERSION',
  /** The handshake was missing, malformed or too slow. Fatal. */
  HANDSHAKE: 'BUS_ERR_HANDSHAKE',
  /** A subject is not valid where it was used. */
  BAD_SUBJECT: 'BUS_ERR_BAD_SUBJECT',
  /** A request had nobody to answer it. */
  NO_RESPONDERS: 'BUS_ERR_NO_RESPONDERS',
  /** A request was not answered in time. */
  TIMEOUT: 'BUS_ERR_TIMEOUT',
  /** The responder's handler failed; the message says why. */
  RESPONDER_FAILED: 'BUS_ERR_RESPONDER_FAILED',
  /** The responder disconnected before answering. */
  RESPONDER_GONE: 'BUS_ERR_RESPONDER_GONE',
  /** A direct message named a client id that is not connected. */
  NO_SUCH_CLIENT: 'BUS_ERR_NO_SUCH_CLIENT',
  /** A configured limit was reached (subscriptions, pending requests, connections...). */
  LIMIT: 'BUS_ERR_LIMIT',
  /** A send queue is full; the message was not queued (and was counted as dropped). */
  BUFFER_FULL: 'BUS_ERR_BUFFER_FULL',
  /** The daemon disconnected a consumer that could not keep up. */
  SLOW_CONSUMER: 'BUS_ERR_SLOW_CONSUMER',
  /** The client was closed by its owner. */
  CLOSED: 'BUS_ERR_CLOSED',
  /** The connection to the daemon was lost. */
  DISCONNECTED: 'BUS_ERR_DISCONNECTED',
  /** No daemon could be reached at the socket path. */
  CONNECT: 'BUS_ERR_CONNECT',
  /** Another daemon already serves this socket path. */
  ADDRESS_IN_USE: 'BUS_ERR_ADDRESS_IN_USE',
  /** A control call named an operation the daemon does not know. */
  UNKNOWN_OP: 'BUS_ERR_UNKNOWN_OP',
  /** The daemon is shutting down. */
  SHUTDOWN: 'BUS_ERR_SHUTDOWN',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

const known = new Set<string>(Object.values(ErrorCode));

/** True when `code` is one of the BUS_ERR_* codes. */
export function isErrorCode(code: unknown): code is ErrorCodeValue {
  return typeof code === 'string' && known.has(code);
}

/** The error udsbus throws, rejects with and emits; `code` says which failure it is. */
export class BusError extends Error {
  override name = 'BusError';
  readonly code: ErrorCodeValue;

  constructor(code: ErrorCodeValue, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A send queue was full: the message was not queued. Code `BUS_ERR_BUFFER_FULL`. */
export class BufferFullError extends BusError {
  override name = 'BufferFullError';
  constructor(message = 'send queue is full') {
    super(ErrorCode.BUFFER_FULL, message);
  }
}

/** Shorthand for a fatal protocol error. */
export function protocolError(message: string): BusError {
  return new BusError(ErrorCode.PROTOCOL, message);
}
