// The mixer's shared state, after Mixologist: a volume (key `mixer.volume`, a decimal 0..1 as
// text) and a list of programs (key `mixer.programs`, a JSON array of names). Everyone changes
// it the same way: read the value and its revision, compute the new value, write it with
// compare-and-set, and start again on a conflict, so two concurrent changes are never lost.
// Imports the public client API only.

import { BusError, ErrorCode, type Client } from '../../src/client/index.js';

export const VOLUME_KEY = 'mixer.volume';
export const PROGRAMS_KEY = 'mixer.programs';
/** The keys as one watch pattern. */
export const MIXER_KEYS = 'mixer.*';
export const DEFAULT_VOLUME = 0.2;
export const MAX_PROGRAMS = 100;
export const MAX_PROGRAM_NAME = 64;

/** What the mixer holds. */
export interface MixerState {
  volume: number;
  programs: string[];
}

const utf8 = new TextDecoder();

/** `v` clamped to 0..1 and rounded to hundredths (the slider's step). */
export function clampVolume(v: number): number {
  return Math.round(Math.min(1, Math.max(0, v)) * 100) / 100;
}

/** The stored text of a volume: `0.35`, `1`, `0`. */
export function formatVolume(v: number): string {
  return String(clampVolume(v));
}

/** A number from text (`0.5`, ` 1 `), or undefined; not clamped. */
export function parseNumber(text: string): number | undefined {
  const t = text.trim();
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

/** The volume a stored value means (clamped), or undefined when it is not a number. */
export function readVolume(value: Uint8Array | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = parseNumber(utf8.decode(value));
  return n === undefined ? undefined : clampVolume(n);
}

/** Why `name` cannot be a program name, or undefined when it can. */
export function programProblem(name: string): string | undefined {
  if (name.trim() === '') return 'a program name may not be empty';
  if (name.length > MAX_PROGRAM_NAME)
    return `a program name has at most ${MAX_PROGRAM_NAME} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(name))
    return 'a program name may not hold control characters';
  return undefined;
}

/**
 * The program list a stored value means: the valid names of a JSON array, without repeats (at
 * most MAX_PROGRAMS); `valid` tells whether the stored value was exactly such a list.
 */
export function readPrograms(value: Uint8Array | undefined): {
  programs: string[];
  valid: boolean;
} {
  if (value === undefined) return { programs: [], valid: false };
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(value));
  } catch {
    return { programs: [], valid: false };
  }
  if (!Array.isArray(parsed)) return { programs: [], valid: false };
  const programs: string[] = [];
  for (const p of parsed) {
    if (typeof p === 'string' && programProblem(p) === undefined && !programs.includes(p))
      programs.push(p);
  }
  const kept = programs.slice(0, MAX_PROGRAMS);
  return { programs: kept, valid: kept.length === parsed.length };
}

function isCode(err: unknown, code: string): boolean {
  return err instanceof BusError && err.code === code;
}

/** The current value and revision of `key` (revision 0 and no value when it has none). */
async function read(
  client: Client,
  key: string,
): Promise<{ value?: Uint8Array; revision: number }> {
  try {
    const v = await client.get(key);
    return { value: v.value, revision: v.revision };
  } catch (err) {
    if (isCode(err, ErrorCode.NOT_FOUND)) return { revision: 0 };
    throw err;
  }
}

/**
 * Read-modify-write of `key` by compare-and-set: `change` gets the current value and returns the
 * new text, or undefined to leave it as it is. On a conflict (somebody wrote in between) it reads
 * again and calls `change` again, up to `attempts` times. Resolves with the text written (or the
 * current one) and its revision.
 */
export async function update(
  client: Client,
  key: string,
  change: (current: Uint8Array | undefined) => string | undefined,
  attempts = 50,
): Promise<{ text: string; revision: number; changed: boolean }> {
  for (let attempt = 1; ; attempt++) {
    const cur = await read(client, key);
    const next = change(cur.value);
    const text = cur.value === undefined ? '' : utf8.decode(cur.value);
    if (next === undefined || (cur.value !== undefined && next === text))
      return { text, revision: cur.revision, changed: false };
    try {
      const w = await client.set(key, next, { ifRevision: cur.revision, persist: true });
      return { text: next, revision: w.revision, changed: true };
    } catch (err) {
      if (!isCode(err, ErrorCode.CONFLICT) || attempt >= attempts) throw err;
      // Several writers at once: spread the next attempts a little.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
    }
  }
}

/** Sets the volume (clamped to 0..1); resolves with the volume stored. */
export async function setVolume(client: Client, v: number): Promise<number> {
  const r = await update(client, VOLUME_KEY, () => formatVolume(v));
  return Number(r.text);
}

/** Adds `delta` to the volume (clamped to 0..1); resolves with the volume stored. */
export async function shiftVolume(client: Client, delta: number): Promise<number> {
  const r = await update(client, VOLUME_KEY, (cur) =>
    formatVolume((readVolume(cur) ?? DEFAULT_VOLUME) + delta),
  );
  return Number(r.text);
}

/** Adds a program (a no-op when it is listed); throws RangeError for a bad name or a full list. */
export async function addProgram(client: Client, name: string): Promise<string[]> {
  const problem = programProblem(name);
  if (problem !== undefined) throw new RangeError(problem);
  const r = await update(client, PROGRAMS_KEY, (cur) => {
    const { programs, valid } = readPrograms(cur);
    if (programs.includes(name)) return valid ? undefined : JSON.stringify(programs);
    if (programs.length >= MAX_PROGRAMS)
      throw new RangeError(`the mixer holds at most ${MAX_PROGRAMS} programs`);
    return JSON.stringify([...programs, name]);
  });
  return readPrograms(Buffer.from(r.text)).programs;
}

/** Removes a program; resolves with the list after it (unchanged when it was not listed). */
export async function removeProgram(client: Client, name: string): Promise<string[]> {
  const r = await update(client, PROGRAMS_KEY, (cur) => {
    const { programs } = readPrograms(cur);
    return programs.includes(name) ? JSON.stringify(programs.filter((p) => p !== name)) : undefined;
  });
  return readPrograms(Buffer.from(r.text)).programs;
}

/** The mixer's state as stored now (defaults for what is missing or unreadable). */
export async function readMixer(client: Client): Promise<MixerState> {
  const [v, p] = await Promise.all([read(client, VOLUME_KEY), read(client, PROGRAMS_KEY)]);
  return {
    volume: readVolume(v.value) ?? DEFAULT_VOLUME,
    programs: readPrograms(p.value).programs,
  };
}
