// The escapes of text mode (docs/PROTOCOL.md section 15): how a payload with newlines, control
// characters or bytes that are not UTF-8 travels on one line, both ways. Imports protocol/ only.

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });
const textEncoder = new TextEncoder();

function hexByte(b: number): string {
  return `\\x${b.toString(16).padStart(2, '0')}`;
}

/** `\xHH` for each UTF-8 byte of `c`, or the short escape of the common controls. */
function escapeChar(c: string): string {
  switch (c) {
    case '\\':
      return '\\\\';
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    default: {
      let out = '';
      for (const b of textEncoder.encode(c)) out += hexByte(b);
      return out;
    }
  }
}

/**
 * `data` as one line of text: valid UTF-8 is kept except the backslash, C0 controls, DEL, C1
 * controls and bidirectional overrides, which are escaped (`\\`, `\n`, `\r`, `\t`, else `\xHH`
 * per byte); payloads that are not UTF-8 have every byte outside printable ASCII as `\xHH`.
 * unescapeLine() turns the result back into the same bytes.
 */
export function escapeBytes(data: Uint8Array): string {
  let plain = true;
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!;
    if (b < 0x20 || b > 0x7e || b === 0x5c) {
      plain = false;
      break;
    }
  }
  if (plain) return fatalUtf8.decode(data);
  let text: string;
  try {
    text = fatalUtf8.decode(data);
  } catch {
    let out = '';
    for (const b of data) {
      if (b >= 0x20 && b <= 0x7e && b !== 0x5c) out += String.fromCharCode(b);
      else out += b < 0x80 ? escapeChar(String.fromCharCode(b)) : hexByte(b);
    }
    return out;
  }
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\\]/gu, escapeChar);
}

/**
 * The bytes of a text-mode argument: `\\`, `\n`, `\r`, `\t`, `\0` and `\xHH` are decoded, every
 * other byte is taken as it is. Returns a string saying what is wrong for a bad escape.
 */
export function unescapeLine(line: Uint8Array): Uint8Array | string {
  if (!line.includes(0x5c)) return line;
  const out = new Uint8Array(line.length);
  let n = 0;
  for (let i = 0; i < line.length; i++) {
    const b = line[i]!;
    if (b !== 0x5c) {
      out[n++] = b;
      continue;
    }
    const e = line[++i];
    switch (e) {
      case 0x5c:
        out[n++] = 0x5c;
        break;
      case 0x6e:
        out[n++] = 0x0a;
        break;
      case 0x72:
        out[n++] = 0x0d;
        break;
      case 0x74:
        out[n++] = 0x09;
        break;
      case 0x30:
        out[n++] = 0;
        break;
      case 0x78: {
        const hex = String.fromCharCode(line[i + 1] ?? 0x20, line[i + 2] ?? 0x20);
        if (!/^[0-9a-fA-F]{2}$/.test(hex))
          return `bad escape \\x${hex.trim()}: \\x needs two hex digits`;
        out[n++] = parseInt(hex, 16);
        i += 2;
        break;
      }
      case undefined:
        return 'a line cannot end with a single backslash (write \\\\ for one)';
      default:
        return `unknown escape \\${String.fromCharCode(e)} (known: \\\\ \\n \\r \\t \\0 \\xHH)`;
    }
  }
  return out.subarray(0, n);
}
