// Record framing of an event source: `line` (split on \n, the \n dropped), `fixed:N` (N-byte
// records, e.g. 24 for a Linux input_event) and `lp` (an unsigned LEB128 length, then that many
// bytes: the framing of the udsbus wire). The splitter holds at most one record's bytes plus the
// chunk being split, and can stop between records (the source was paused) and go on later.
// Imports nothing.

export type Framing =
  | { readonly kind: 'line' }
  | { readonly kind: 'fixed'; readonly size: number }
  | { readonly kind: 'lp' };

/** The largest fixed record. */
export const MAX_FIXED_RECORD = 65_536;

/** Parses `line`, `fixed:N` or `lp`; returns the framing or a message saying what is wrong. */
export function parseFraming(text: string): Framing | string {
  if (text === 'line') return { kind: 'line' };
  if (text === 'lp') return { kind: 'lp' };
  const m = /^fixed:(\d{1,6})$/.exec(text);
  if (m !== null) {
    const size = Number(m[1]);
    if (size >= 1 && size <= MAX_FIXED_RECORD) return { kind: 'fixed', size };
  }
  return `framing must be line, lp or fixed:N with N from 1 to ${MAX_FIXED_RECORD} (got ${JSON.stringify(text.slice(0, 40))})`;
}

/** The text form of a framing. */
export function framingText(f: Framing): string {
  return f.kind === 'fixed' ? `fixed:${f.size}` : f.kind;
}

/** A length prefix above the record limit: the stream cannot be followed any further. */
export class FramingError extends Error {
  override readonly name = 'FramingError';
}

const EMPTY = new Uint8Array(0);

/**
 * Splits chunks into records. push() a chunk only when `holding` is false; run() hands records
 * to `emit` (a view, valid during the call) until the chunk is used up or emit returns false.
 */
export class RecordSplitter {
  readonly #framing: Framing;
  readonly #max: number;
  #input: Uint8Array = EMPTY;
  #pos = 0;
  #partial: Uint8Array;
  #partialLen = 0;
  /** line: an overlong line is being skipped up to its \n. */
  #skipping = false;
  /** Records dropped for being longer than the limit (line framing). */
  oversized = 0;

  constructor(framing: Framing, maxRecord: number) {
    this.#framing = framing;
    this.#max = framing.kind === 'fixed' ? framing.size : maxRecord;
    this.#partial = new Uint8Array(framing.kind === 'fixed' ? framing.size : 256);
  }

  /** True while part of the last chunk is still to be split. */
  get holding(): boolean {
    return this.#pos < this.#input.length;
  }

  /** Bytes held: the rest of the chunk and a partial record. */
  get heldBytes(): number {
    return this.#input.length - this.#pos + this.#partialLen;
  }

  push(chunk: Uint8Array): void {
    this.#input = chunk;
    this.#pos = 0;
  }

  /** Forgets everything held (the source was reopened). */
  reset(): void {
    this.#input = EMPTY;
    this.#pos = 0;
    this.#partialLen = 0;
    this.#skipping = false;
  }

  /** Emits records while emit returns true; throws FramingError for a bad length prefix. */
  run(emit: (record: Uint8Array) => boolean): void {
    switch (this.#framing.kind) {
      case 'line':
        this.#lines(emit);
        break;
      case 'fixed':
        this.#fixed(this.#framing.size, emit);
        break;
      case 'lp':
        this.#lengthPrefixed(emit);
        break;
    }
    if (!this.holding) this.#input = EMPTY;
  }

  #keep(bytes: Uint8Array): void {
    const need = this.#partialLen + bytes.length;
    if (need > this.#partial.length) {
      const grown = new Uint8Array(Math.max(need, this.#partial.length * 2));
      grown.set(this.#partial.subarray(0, this.#partialLen));
      this.#partial = grown;
    }
    this.#partial.set(bytes, this.#partialLen);
    this.#partialLen = need;
  }

  #lines(emit: (record: Uint8Array) => boolean): void {
    const input = this.#input;
    while (this.#pos < input.length) {
      const nl = input.indexOf(0x0a, this.#pos);
      if (nl < 0) {
        const rest = input.subarray(this.#pos);
        this.#pos = input.length;
        if (this.#skipping) return;
        if (this.#partialLen + rest.length > this.#max) {
          this.#skipping = true;
          this.#partialLen = 0;
          this.oversized++;
          return;
        }
        this.#keep(rest);
        return;
      }
      const piece = input.subarray(this.#pos, nl);
      this.#pos = nl + 1;
      if (this.#skipping) {
        this.#skipping = false;
        continue;
      }
      let record = piece;
      if (this.#partialLen > 0) {
        if (this.#partialLen + piece.length > this.#max) {
          this.#partialLen = 0;
          this.oversized++;
          continue;
        }
        this.#keep(piece);
        record = this.#partial.subarray(0, this.#partialLen);
        this.#partialLen = 0;
      } else if (piece.length > this.#max) {
        this.oversized++;
        continue;
      }
      if (!emit(record)) return;
    }
  }

  #fixed(size: number, emit: (record: Uint8Array) => boolean): void {
    const input = this.#input;
    while (this.#pos < input.length) {
      if (this.#partialLen > 0 || input.length - this.#pos < size) {
        const take = Math.min(size - this.#partialLen, input.length - this.#pos);
        this.#partial.set(input.subarray(this.#pos, this.#pos + take), this.#partialLen);
        this.#partialLen += take;
        this.#pos += take;
        if (this.#partialLen < size) return;
        this.#partialLen = 0;
        if (!emit(this.#partial)) return;
      } else {
        const record = input.subarray(this.#pos, this.#pos + size);
        this.#pos += size;
        if (!emit(record)) return;
      }
    }
  }

  /** The length prefix at `buf[at..end)`: [length, bytes of the prefix], or null if incomplete. */
  #prefix(buf: Uint8Array, at: number, end: number): [number, number] | null {
    let value = 0;
    let mul = 1;
    for (let i = at; i < end && i - at < 8; i++) {
      const b = buf[i]!;
      value += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (value > this.#max)
          throw new FramingError(`a record of ${value} bytes is longer than ${this.#max}`);
        return [value, i - at + 1];
      }
      mul *= 128;
    }
    if (end - at >= 8) throw new FramingError('a length prefix is longer than 8 bytes');
    return null;
  }

  #lengthPrefixed(emit: (record: Uint8Array) => boolean): void {
    const input = this.#input;
    while (this.#pos < input.length) {
      if (this.#partialLen === 0) {
        const p = this.#prefix(input, this.#pos, input.length);
        if (p !== null && input.length - this.#pos >= p[1] + p[0]) {
          const start = this.#pos + p[1];
          this.#pos = start + p[0];
          if (!emit(input.subarray(start, start + p[0]))) return;
          continue;
        }
      }
      // Gather the prefix one byte at a time, then the rest of the record.
      let p = this.#prefix(this.#partial, 0, this.#partialLen);
      while (p === null && this.#pos < input.length) {
        this.#keep(input.subarray(this.#pos, this.#pos + 1));
        this.#pos++;
        p = this.#prefix(this.#partial, 0, this.#partialLen);
      }
      if (p === null) return;
      const need = p[1] + p[0] - this.#partialLen;
      const take = Math.min(need, input.length - this.#pos);
      this.#keep(input.subarray(this.#pos, this.#pos + take));
      this.#pos += take;
      if (take < need) return;
      const record = this.#partial.subarray(p[1], p[1] + p[0]);
      this.#partialLen = 0;
      if (!emit(record)) return;
    }
  }
}
