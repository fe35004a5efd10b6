// Payloads from the command line, a file or stdin, always as bytes (never decoded): stdin whole,
// or one message per line (split on \n only). Imports node:fs and ./command (CliFailure).

import { readFile } from 'node:fs/promises';
import { CliFailure } from './command.js';

/** Every line of `input` without its \n; a last line without \n counts too. Bytes untouched. */
export async function* lines(input: NodeJS.ReadableStream): AsyncGenerator<Uint8Array> {
  let tail: Buffer | undefined;
  for await (const c of input) {
    const chunk = typeof c === 'string' ? Buffer.from(c) : c;
    let start = 0;
    let nl: number;
    while ((nl = chunk.indexOf(0x0a, start)) !== -1) {
      const piece = chunk.subarray(start, nl);
      yield tail === undefined ? piece : Buffer.concat([tail, piece]);
      tail = undefined;
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      tail = tail === undefined ? rest : Buffer.concat([tail, rest]);
    }
  }
  if (tail !== undefined) yield tail;
}

/** All of `input` as one payload. */
export async function readAll(input: NodeJS.ReadableStream): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of input) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks);
}

/** A file as one payload; a failure to read it is an operational error (exit 1). */
export async function readBodyFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new CliFailure(`cannot read ${path}: ${e.code ?? e.message}`);
  }
}
