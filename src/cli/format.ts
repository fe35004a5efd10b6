// How the CLI prints messages: payload lines, the verbose form (`-v`), JSON lines, and the
// escaping of client-supplied strings before they reach a terminal. Imports client/ types only.

import type { Msg } from '../client/index.js';

const NL = Buffer.from('\n');
const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * `text` with control characters (C0, DEL, C1), bidirectional overrides and lone surrogates
 * written as escapes, so a client name or header cannot move the cursor, retitle the terminal
 * or reorder what is shown.
 */
export function escapeText(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\\]|[\ud800-\udfff]/gu,
    (c) => {
      if (c === '\\') return '\\\\';
      if (c === '\n') return '\\n';
      if (c === '\t') return '\\t';
      if (c === '\r') return '\\r';
      return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
    },
  );
}

/**
 * JSON for a terminal: like JSON.stringify, but DEL, C1 controls (U+0080..U+009F, e.g. the
 * 8-bit CSI) and bidirectional overrides are written as \u escapes too (still valid JSON).
 */
export function terminalJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(
    /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/gu,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** The payload as a line: its bytes unchanged, then a newline (only if missing, when asked). */
export function payloadLine(data: Uint8Array, addNewlineOnlyIfMissing = false): Uint8Array {
  if (addNewlineOnlyIfMissing && data.length > 0 && data[data.length - 1] === 0x0a)
    return Buffer.from(data);
  return Buffer.concat([data, NL]);
}

/** `{ data }` when the payload is UTF-8, else `{ data_base64 }`. */
export function jsonData(data: Uint8Array): { data: string } | { data_base64: string } {
  try {
    return { data: fatalUtf8.decode(data) };
  } catch {
    return { data_base64: Buffer.from(data).toString('base64') };
  }
}

/** The JSON line of a message: subject, data, from, id, priority, type and headers when set. */
export function msgJson(msg: Msg, extra: Record<string, unknown> = {}): string {
  return terminalJson({
    ...(msg.subject === '' ? {} : { subject: msg.subject }),
    ...jsonData(msg.data),
    from: msg.from,
    ...(msg.uid === undefined ? {} : { uid: msg.uid }),
    ...(msg.pid === undefined ? {} : { pid: msg.pid }),
    id: msg.id,
    priority: msg.priority,
    ...(msg.type === undefined ? {} : { type: msg.type }),
    ...(msg.headers === undefined ? {} : { headers: msg.headers }),
    ...extra,
  });
}

/**
 * The verbose form (`sub -v`), one line per message like `mosquitto_sub -v`: the subject, then
 * `type=N` and each header `KEY=VALUE` when present (escaped), then the payload bytes.
 */
export function verboseLine(msg: Msg): Uint8Array {
  let head = escapeText(msg.subject);
  if (msg.type !== undefined) head += ` type=${msg.type}`;
  if (msg.headers !== undefined) {
    for (const [k, v] of Object.entries(msg.headers)) {
      head += ` ${escapeText(k).replace(/[ =]/g, (c) => (c === ' ' ? '\\x20' : '\\x3d'))}=${escapeText(v).replace(/ /g, '\\x20')}`;
    }
  }
  return Buffer.concat([Buffer.from(head + ' '), msg.data, NL]);
}

/** Rows as left-aligned columns (two spaces apart), one string per row; cells already escaped. */
export function columns(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
}
