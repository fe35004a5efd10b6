// The daemon's state file: shared-state values marked `persist`, loaded at start and written
// atomically (temp file, fsync, rename, fsync of the folder) a short while after they change.
// Imports node:fs, node:path, node:os, broker/ (types) and the daemon's log.

import { readFileSync, renameSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { PersistedState } from '../broker/index.js';

/** The file in the state folder. */
export const STATE_FILE = 'state.json';

/** How long after a change the file is written, ms: a burst of changes is one write. */
export const STATE_WRITE_DELAY_MS = 100;

/**
 * The state folder: `$UDSBUS_STATE_DIR`, else `$XDG_STATE_HOME/udsbus`, else
 * `~/.local/state/udsbus` (docs/OPERATIONS.md, "Shared state").
 */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const own = env['UDSBUS_STATE_DIR'];
  if (own !== undefined && own !== '') return own;
  const xdg = env['XDG_STATE_HOME'];
  if (xdg !== undefined && xdg !== '') return join(xdg, 'udsbus');
  return join(homedir(), '.local', 'state', 'udsbus');
}

interface FileEntry {
  key: string;
  value: string;
  revision: number;
  type?: number;
}

const FORMAT = 'udsbus-state';
const isUint = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** The JSON of a persisted state (values in base64). */
export function encodeStateFile(state: PersistedState): string {
  const entries: FileEntry[] = state.entries.map((e) => ({
    key: e.key,
    value: Buffer.from(e.value.buffer, e.value.byteOffset, e.value.byteLength).toString('base64'),
    revision: e.revision,
    ...(e.type === undefined ? {} : { type: e.type }),
  }));
  return JSON.stringify({ format: FORMAT, version: 1, revision: state.revision, entries }) + '\n';
}

/** Parses a state file; throws an Error saying what is wrong. */
export function decodeStateFile(text: string): PersistedState {
  const o = JSON.parse(text) as unknown;
  if (typeof o !== 'object' || o === null) throw new Error('not a JSON object');
  const { format, version, revision, entries } = o as Record<string, unknown>;
  if (format !== FORMAT || version !== 1)
    throw new Error(`not a version 1 ${FORMAT} file (format ${JSON.stringify(format)})`);
  if (!isUint(revision) || !Array.isArray(entries))
    throw new Error('"revision" or "entries" is missing or malformed');
  return {
    revision,
    entries: entries.map((x: unknown, i) => {
      const e = (typeof x === 'object' && x !== null ? x : {}) as Record<string, unknown>;
      const { key, value, revision: rev, type } = e;
      if (typeof key !== 'string' || typeof value !== 'string' || !isUint(rev))
        throw new Error(`entry ${i} is malformed`);
      if (type !== undefined && !(isUint(type) && type <= 0xffffffff))
        throw new Error(`entry ${i}: type is malformed`);
      return {
        key,
        value: new Uint8Array(Buffer.from(value, 'base64')),
        revision: rev,
        ...(type === undefined ? {} : { type }),
      };
    }),
  };
}

/** The state file of one daemon: load once, then `changed()` after each persisted change. */
export class StateFile {
  readonly dir: string;
  readonly path: string;
  #snapshot: () => PersistedState;
  #log: (line: string) => void;
  #timer: NodeJS.Timeout | undefined;
  #dirty = false;
  #failing = false;
  #writing: Promise<void> | undefined;
  /** The store revision in the file (as loaded or last written). */
  #written = 0;

  constructor(dir: string, log: (line: string) => void) {
    this.dir = dir;
    this.path = join(dir, STATE_FILE);
    this.#log = log;
    this.#snapshot = () => ({ revision: 0, entries: [] });
  }

  /** Where the values to write come from (the broker, once it exists). */
  source(snapshot: () => PersistedState): void {
    this.#snapshot = snapshot;
  }

  /**
   * The persisted state, or null when there is no file. A file that cannot be read as a state
   * file is renamed to `state.json.corrupt-<time>` (kept for a human to look at), logged, and
   * the daemon starts with no values.
   */
  load(): PersistedState | null {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENOENT') return null;
      this.#log(`state: cannot read ${this.path}: ${e.code ?? e.message}; starting with no values`);
      return null;
    }
    try {
      const state = decodeStateFile(text);
      this.#written = state.revision;
      return state;
    } catch (err) {
      const kept = `${this.path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      let where = `kept as ${kept}`;
      try {
        renameSync(this.path, kept);
      } catch (e) {
        where = `could not rename it: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
      }
      this.#log(
        `state: ${this.path} is corrupt (${(err as Error).message}); starting with no values; ${where}`,
      );
      return null;
    }
  }

  /** A persisted value changed: the file is written STATE_WRITE_DELAY_MS later. */
  changed(): void {
    this.#dirty = true;
    if (this.#timer !== undefined || this.#writing !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, STATE_WRITE_DELAY_MS);
    this.#timer.unref();
  }

  /**
   * Writes the file if anything changed since the last write; resolves when what was changed
   * before the call is on disk (or failed, logged). One write at a time: changes made while a
   * write runs are written right after it. The daemon calls it with `final` at shutdown.
   */
  async flush(final = false): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#writing !== undefined) await this.#writing;
    // At shutdown the revision counter is saved too when only values not persisted changed, so
    // that revisions after a restart continue above every revision a watcher may have seen.
    if (final && this.#snapshot().revision !== this.#written) this.#dirty = true;
    if (!this.#dirty) return;
    this.#writing = this.#writeNow().finally(() => (this.#writing = undefined));
    await this.#writing;
    if (this.#dirty && !this.#failing) this.changed();
  }

  async #writeNow(): Promise<void> {
    this.#dirty = false;
    // The snapshot is taken now (synchronously); later changes go into the next write.
    const state = this.#snapshot();
    const text = encodeStateFile(state);
    try {
      await this.#write(text);
      this.#written = state.revision;
      if (this.#failing) this.#log(`state: ${this.path} written again`);
      this.#failing = false;
    } catch (err) {
      // Logged once per run of failures; the next change tries again.
      if (!this.#failing) {
        const e = err as NodeJS.ErrnoException;
        this.#log(`state: cannot write ${this.path}: ${e.code ?? e.message}`);
      }
      this.#failing = true;
      this.#dirty = true;
    }
  }

  /** temp file, fsync, rename over the old file, fsync the folder: a crash leaves old or new. */
  async #write(text: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.tmp-${process.pid}`;
    const f = await open(tmp, 'w', 0o600);
    try {
      await f.writeFile(text);
      await f.sync();
    } finally {
      await f.close();
    }
    await rename(tmp, this.path);
    const d = await open(this.dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }
}
