// BusError: the one error class of udsbus, with a closed set of BUS_ERR_* codes, and the subset
// of codes that may travel in ERROR, CALL_REPLY and REPLY frames (docs/PROTOCOL.md section 12).
// Imports nothing.

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
  /** The connection to the daemon was lost, or the daemon closed an unresponsive client. */
  DISCONNECTED: 'BUS_ERR_DISCONNECTED',
  /** No daemon could be reached at the socket path. */
  CONNECT: 'BUS_ERR_CONNECT',
  /** Another daemon already serves this socket path. */
  ADDRESS_IN_USE: 'BUS_ERR_ADDRESS_IN_USE',
  /** A control call named an operation the daemon does not know. */
  UNKNOWN_OP: 'BUS_ERR_UNKNOWN_OP',
  /** The daemon is shutting down. */
  SHUTDOWN: 'BUS_ERR_SHUTDOWN',
  /** The operation is not allowed to this client (e.g. publishing on a `$SYS` subject). */
  PERMISSION: 'BUS_ERR_PERMISSION',
  /** A state key (or other named thing) does not exist. */
  NOT_FOUND: 'BUS_ERR_NOT_FOUND',
  /** A compare-and-set failed: the key's revision is not the one the caller expected. */
  CONFLICT: 'BUS_ERR_CONFLICT',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * The codes a daemon may put on the wire. The others (TIMEOUT, BUFFER_FULL, CLOSED, CONNECT,
 * ADDRESS_IN_USE) are local to a client or a daemon's start-up; one arriving in a frame is a
 * protocol error.
 */
export const WIRE_ERROR_CODES = [
  ErrorCode.PROTOCOL,
  ErrorCode.FRAME_TOO_LARGE,
  ErrorCode.VERSION,
  ErrorCode.HANDSHAKE,
  ErrorCode.BAD_SUBJECT,
  ErrorCode.NO_RESPONDERS,
  ErrorCode.RESPONDER_FAILED,
  ErrorCode.RESPONDER_GONE,
  ErrorCode.NO_SUCH_CLIENT,
  ErrorCode.LIMIT,
  ErrorCode.SLOW_CONSUMER,
  ErrorCode.DISCONNECTED,
  ErrorCode.UNKNOWN_OP,
  ErrorCode.SHUTDOWN,
  ErrorCode.PERMISSION,
  ErrorCode.NOT_FOUND,
  ErrorCode.CONFLICT,
] as const;

export type WireErrorCode = (typeof WIRE_ERROR_CODES)[number];

const known = new Set<string>(Object.values(ErrorCode));
const wire = new Set<string>(WIRE_ERROR_CODES);

/** True when `code` is one of the BUS_ERR_* codes. */
export function isErrorCode(code: unknown): code is ErrorCodeValue {
  return typeof code === 'string' && known.has(code);
}

/** True when `code` may arrive in a frame from the daemon. */
export function isWireErrorCode(code: unknown): code is WireErrorCode {
  return typeof code === 'string' && wire.has(code);
}

/** Options of a BusError beyond its code and message. */
export interface BusErrorOptions extends ErrorOptions {
  /** Facts about the failure (e.g. `{ sid }` of a refused subscription, both versions). */
  detail?: Record<string, unknown> | undefined;
  /** True when the connection ends because of this error. */
  fatal?: boolean | undefined;
}

/** The error udsbus throws, rejects with and emits; `code` says which failure it is. */
export class BusError extends Error {
  override name = 'BusError';
  readonly code: ErrorCodeValue;
  readonly detail: Record<string, unknown> | undefined;
  readonly fatal: boolean;

  constructor(code: ErrorCodeValue, message: string, options: BusErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.detail = options.detail;
    this.fatal = options.fatal ?? false;
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
  return new BusError(ErrorCode.PROTOCOL, message, { fatal: true });
}
