// A log file that rotates by size: FILE, then FILE.1 (newest) .. FILE.K (oldest). Writes are
// synchronous appends, so records land in the order they were written. Imports node: only.

import { appendFileSync, renameSync, rmSync, statSync } from 'node:fs';

/** Appends lines to `path`; before a line would take it past `maxBytes`, rotates. */
export class RotatingFile {
  readonly path: string;
  readonly maxBytes: number;
  readonly keep: number;
  #size: number;
  /** How many times the file was rotated since this object was made. */
  rotations = 0;

  /**
   * `maxBytes`: the size a file may reach (a single longer line still gets a file of its own);
   * `keep`: rotated files kept (0: the file is simply started afresh).
   */
  constructor(path: string, maxBytes: number, keep: number) {
    if (!Number.isInteger(maxBytes) || maxBytes < 1)
      throw new RangeError('maxBytes must be a positive integer');
    if (!Number.isInteger(keep) || keep < 0 || keep > 1000)
      throw new RangeError('keep must be an integer from 0 to 1000');
    this.path = path;
    this.maxBytes = maxBytes;
    this.keep = keep;
    this.#size = sizeOf(path);
  }

  /** Appends one line (a newline is added). */
  write(line: string): void {
    const bytes = Buffer.from(`${line}\n`, 'utf8');
    if (this.#size > 0 && this.#size + bytes.length > this.maxBytes) this.rotate();
    appendFileSync(this.path, bytes, { mode: 0o600 });
    this.#size += bytes.length;
  }

  /** FILE.K is dropped, FILE.i becomes FILE.i+1, FILE becomes FILE.1; the next write starts FILE. */
  rotate(): void {
    if (this.keep === 0) {
      rmSync(this.path, { force: true });
    } else {
      rmSync(`${this.path}.${this.keep}`, { force: true });
      for (let i = this.keep - 1; i >= 1; i--)
        renameIfThere(`${this.path}.${i}`, `${this.path}.${i + 1}`);
      renameIfThere(this.path, `${this.path}.1`);
    }
    this.#size = 0;
    this.rotations++;
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function renameIfThere(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
