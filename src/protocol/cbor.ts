// CBOR for control frames: cbor-x, behind a structural pre-check of the raw bytes.
// The pre-check refuses every CBOR tag (so tags 27/28/29 can never build objects), indefinite
// lengths, and nesting or item counts beyond fixed limits, before cbor-x sees the bytes.

import { Decoder, Encoder } from 'cbor-x';
import { protocolError } from './errors.js';

const MAX_DEPTH = 8;
const MAX_ITEMS = 4096;

const encoder = new Encoder({
  useRecords: false,
  tagUint8Array: false,
  variableMapSize: true,
  pack: false,
});
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

/** Encodes a control value (plain objects, arrays, strings, numbers, booleans, null, bytes). */
export function encodeCbor(value: unknown): Uint8Array {
  return encoder.encode(value);
}

/** Decodes one CBOR item that must fill `bytes` exactly; throws BUS_ERR_PROTOCOL otherwise. */
export function decodeCbor(bytes: Uint8Array): unknown {
  const state = { off: 0, items: 0 };
  scanItem(bytes, state, 0);
  if (state.off !== bytes.length) throw protocolError('trailing bytes after CBOR item');
  try {
    return decoder.decode(bytes);
  } catch (err) {
    throw protocolError(`malformed CBOR: ${(err as Error).message}`);
  }
}

/** Walks one CBOR item (RFC 8949 §3) without building it. */
function scanItem(b: Uint8Array, s: { off: number; items: number }, depth: number): void {
  if (depth > MAX_DEPTH) throw protocolError(`CBOR nesting deeper than ${MAX_DEPTH}`);
  if (++s.items > MAX_ITEMS) throw protocolError(`CBOR item count above ${MAX_ITEMS}`);
  if (s.off >= b.length) throw protocolError('truncated CBOR');
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
    case 3: // text string
      if (s.off + arg > b.length) throw protocolError('truncated CBOR string');
      s.off += arg;
      return;
    case 4: // array
      if (arg > MAX_ITEMS) throw protocolError(`CBOR array longer than ${MAX_ITEMS}`);
      for (let i = 0; i < arg; i++) scanItem(b, s, depth + 1);
      return;
    case 5: // map: keys must be text strings
      if (arg > MAX_ITEMS) throw protocolError(`CBOR map larger than ${MAX_ITEMS}`);
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
      if (info < 20 || (info > 23 && info < 25))
        throw protocolError('unassigned CBOR simple value');
      return;
  }
}
