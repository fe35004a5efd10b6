// logd's records: what a `@logd.write` request carries ({ level, tag, msg } as JSON), its checks,
// and the one line each record becomes in the file. Imports nothing.

/** The levels logd knows, lowest first. */
export const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type Level = (typeof LEVELS)[number];

/** What a client asks logd to write. */
export interface LogRequest {
  level: Level;
  tag: string;
  msg: string;
}

/** Who sent a record, as the daemon stamped it (never the sender's own claim). */
export interface Sender {
  id: number;
  name: string;
  uid: number | undefined;
  pid: number | undefined;
}

/** Longest message kept, in characters; longer ones are refused. */
export const MAX_MSG = 16 * 1024;
const TAG = /^[A-Za-z0-9_.:/-]{1,64}$/;

/** Reads a request payload; throws an Error whose message says what is wrong. */
export function parseLogRequest(data: Uint8Array): LogRequest {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch {
    throw new Error('the request is not JSON: send {"level","tag","msg"}');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error('the request must be a JSON object {"level","tag","msg"}');
  const { level, tag, msg } = value as Record<string, unknown>;
  if (typeof level !== 'string' || !(LEVELS as readonly string[]).includes(level))
    throw new Error(`level must be one of ${LEVELS.join(', ')}`);
  if (typeof tag !== 'string' || !TAG.test(tag))
    throw new Error('tag must be 1 to 64 of A-Z a-z 0-9 _ . : / -');
  if (typeof msg !== 'string') throw new Error('msg must be a string');
  if (msg.length > MAX_MSG) throw new Error(`msg is longer than ${MAX_MSG} characters`);
  return { level: level as Level, tag, msg };
}

/**
 * One line of the log: ISO time, level, tag, the sender (client id and name, kernel uid and pid)
 * and the message, with backslashes and control characters escaped so that a record is always
 * exactly one line.
 */
export function formatRecord(time: Date, r: LogRequest, from: Sender): string {
  const who = `client=${from.id} name=${JSON.stringify(from.name)} uid=${from.uid ?? '-'} pid=${from.pid ?? '-'}`;
  return `${time.toISOString()} ${r.level.toUpperCase().padEnd(5)} ${r.tag} [${who}] ${escapeLine(r.msg)}`;
}

/** Backslash as `\\`, control characters (C0, DEL, C1, line and paragraph separators) as `\xNN`/`\uNNNN`. */
export function escapeLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\\\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (c === '\\') return '\\\\';
    const code = c.charCodeAt(0);
    return code < 0x100
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
