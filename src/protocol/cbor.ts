// CBOR for control frames: cborg in its strict modes, behind a small structural pre-scan.
// cborg refuses tags, indefinite lengths, duplicate keys, non-minimal integers, undefined, NaN
// and Infinity; the pre-scan adds what it has no option for. Imports cborg, bytes and errors.

import { decode, encode } from 'cborg';
import { isUtf8 } from './bytes.js';
import { protocolError } from './errors.js';

/** Bounds on one decoded CBOR item. */
export interface CborLimits {
  /** Deepest nesting: the top-level item is at depth 0. */
  maxDepth: number;
  /** Most data items in total (each map key and value counts), and entries per container. */
  maxItems: number;
}

/** What a control frame from a peer may hold (docs/PROTOCOL.md section 8). */
export const CBOR_LIMITS: Readonly<CborLimits> = { maxDepth: 8, maxItems: 4096 };

/**
 * What a client accepts in a CALL_REPLY from its daemon: a `status` page holds up to 1,000
 * clients of some 40 items each. The daemon is the one peer a client has already verified
 * (socket owner and folder), and its frames are bounded by the client's frame limit.
 */
export const DAEMON_REPLY_LIMITS: Readonly<CborLimits> = { maxDepth: 8, maxItems: 1 << 18 };

const DECODE_OPTIONS = {
  strict: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowNaN: false,
  allowInfinity: false,
  allowBigInt: false,
  rejectDuplicateMapKeys: true,
  useMaps: false,
  tags: [],
} as const;

// Maps keep their insertion order on the wire (cborg sorts keys by default); undefined
// properties are left out; a number without a fraction is always a CBOR integer.
const ENCODE_OPTIONS = { mapSorter: undefined, ignoreUndefinedProperties: true } as const;

/** Encodes a control value (plain objects, arrays, strings, numbers, booleans, null, bytes). */
export function encodeCbor(value: unknown): Uint8Array {
  return encode(value, ENCODE_OPTIONS);
}

/**
 * Decodes one CBOR item that must fill `bytes` exactly; throws BUS_ERR_PROTOCOL otherwise.
 * `limits` bounds depth and item count (default CBOR_LIMITS, for frames from a peer).
 */
export function decodeCbor(bytes: Uint8Array, limits: Readonly<CborLimits> = CBOR_LIMITS): unknown {
  const state = { off: 0, items: 0, limits };
  scanItem(bytes, state, 0);
  if (state.off !== bytes.length) throw protocolError('trailing bytes after CBOR item');
  try {
    return decode(bytes, DECODE_OPTIONS);
  } catch (err) {
    throw protocolError(`malformed CBOR: ${(err as Error).message}`);
  }
}

interface ScanState {
  off: number;
  items: number;
  limits: Readonly<CborLimits>;
}

/**
 * Walks one CBOR item (RFC 8949 section 3) without building it, for the rules cborg has no
 * option for: depth, item counts, lengths that run past the input (before anything is
 * allocated), text-only map keys, valid UTF-8 text, simple values, and integers sent as floats.
 */
function scanItem(b: Uint8Array, s: ScanState, depth: number): void {
  const { maxDepth, maxItems } = s.limits;
  if (depth > maxDepth) throw protocolError(`CBOR nesting deeper than ${maxDepth}`);
  if (++s.items > maxItems) throw protocolError(`CBOR item count above ${maxItems}`);
  if (s.off >= b.length) throw protocolError('truncated CBOR');
  const start = s.off;
  const initial = b[s.off++]!;
  const major = initial >> 5;
  const info = initial & 0x1f;
  let arg: number;
  if (info < 24) arg = info;
  else if (info <= 27) {
    const n = 1 << (info - 24);
    if (s.off + n > b.length) throw protocolError('truncated CBOR');
    arg = 0;
    for (let i = 0; i < n; i++) arg = arg * 256 + b[s.off + i]!;
    s.off += n;
  } else if (info === 31) {
    throw protocolError('indefinite-length CBOR items are not accepted');
  } else {
    throw protocolError('reserved CBOR additional information');
  }
  switch (major) {
    case 0: // unsigned integer
    case 1: // negative integer
      return;
    case 2: // byte string
    case 3: // text string (cborg would replace bad UTF-8 with U+FFFD; refuse it instead)
      if (s.off + arg > b.length) throw protocolError('truncated CBOR string');
      if (major === 3 && !isUtf8(b.subarray(s.off, s.off + arg)))
        throw protocolError('CBOR text string is not valid UTF-8');
      s.off += arg;
      return;
    case 4: // array
      if (arg > maxItems) throw protocolError(`CBOR array longer than ${maxItems}`);
      for (let i = 0; i < arg; i++) scanItem(b, s, depth + 1);
      return;
    case 5: // map: keys must be text strings
      if (arg > maxItems) throw protocolError(`CBOR map larger than ${maxItems}`);
      for (let i = 0; i < arg; i++) {
        if (s.off >= b.length || b[s.off]! >> 5 !== 3)
          throw protocolError('CBOR map key is not a text string');
        scanItem(b, s, depth + 1);
        scanItem(b, s, depth + 1);
      }
      return;
    case 6: // tag
      throw protocolError(`CBOR tag ${arg} is not accepted`);
    default: // 7: simple values and floats; arguments were consumed above
      if (info === 23) throw protocolError('CBOR undefined is not accepted');
      if (info < 20 || info === 24) throw protocolError('unassigned CBOR simple value');
      if (info >= 25 && Number.isInteger(readFloat(b, start + 1, info)))
        throw protocolError('an integer sent as a CBOR float; integers must be major type 0 or 1');
      return;
  }
}

/** The value of a half (25), single (26) or double (27) float at `off`. */
function readFloat(b: Uint8Array, off: number, info: number): number {
  const view = new DataView(b.buffer, b.byteOffset + off);
  if (info === 26) return view.getFloat32(0);
  if (info === 27) return view.getFloat64(0);
  // IEEE 754 half precision.
  const h = view.getUint16(0);
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
