// The client side of logd: `createLogger(client)` gives `log.info(tag, msg)` and friends, each a
// request to `@logd.write` (the current owner of the name logd) with a bounded timeout.
// Imports the public client API only.

import { BusError, ErrorCode, type Client } from '../../src/client/index.js';
import type { Level } from './record.js';

/** What `createLogger` returns: one method per level, each resolving once logd wrote the record. */
export interface Logger {
  debug(tag: string, msg: string): Promise<void>;
  info(tag: string, msg: string): Promise<void>;
  warn(tag: string, msg: string): Promise<void>;
  error(tag: string, msg: string): Promise<void>;
  write(level: Level, tag: string, msg: string): Promise<void>;
}

/** Options of `createLogger`. */
export interface LoggerOptions {
  /** How long to wait for logd's answer, ms (default 2000). */
  timeoutMs?: number;
  /** The service name logd claimed (default 'logd'). */
  service?: string;
}

/** A record logd did not take: `code` is the bus error code behind it. */
export class LogdError extends Error {
  override readonly name = 'LogdError';
  readonly code: string;
  constructor(message: string, code: string, cause: unknown) {
    super(message, { cause });
    this.code = code;
  }
}

/**
 * A logger that sends each record to logd. Each call rejects with a `LogdError` when logd is not
 * running (BUS_ERR_NO_RESPONDERS, at once), does not answer within `timeoutMs`
 * (BUS_ERR_TIMEOUT), or refuses the record (BUS_ERR_RESPONDER_FAILED, e.g. a bad tag).
 */
export function createLogger(client: Client, options: LoggerOptions = {}): Logger {
  const timeoutMs = options.timeoutMs ?? 2000;
  const service = options.service ?? 'logd';
  const subject = `@${service}.write`;
  const write = async (level: Level, tag: string, msg: string): Promise<void> => {
    try {
      await client.request(subject, JSON.stringify({ level, tag, msg }), { timeoutMs });
    } catch (err) {
      if (!(err instanceof BusError)) throw err;
      throw new LogdError(explain(err, service, timeoutMs), err.code, err);
    }
  };
  return {
    debug: (tag, msg) => write('debug', tag, msg),
    info: (tag, msg) => write('info', tag, msg),
    warn: (tag, msg) => write('warn', tag, msg),
    error: (tag, msg) => write('error', tag, msg),
    write,
  };
}

function explain(err: BusError, service: string, timeoutMs: number): string {
  switch (err.code) {
    case ErrorCode.NO_RESPONDERS:
      return `${service} is not running: nobody owns the name ${service}`;
    case ErrorCode.TIMEOUT:
      return `${service} did not answer within ${timeoutMs} ms`;
    case ErrorCode.RESPONDER_FAILED:
      return `${service} refused the record: ${err.message}`;
    default:
      return `${service}: ${err.message}`;
  }
}
