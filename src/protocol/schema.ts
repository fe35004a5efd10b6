// Tiny schema checks for decoded control maps: every field typed, strings and numbers bounded.
// Imports nothing but errors.

import { protocolError } from './errors.js';

export type Obj = Record<string, unknown>;

export function asObject(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) {
    throw protocolError(`${what} must be a CBOR map`);
  }
  return v as Obj;
}

export function str(o: Obj, key: string, what: string, max = 1024): string {
  const v = o[key];
  if (typeof v !== 'string') throw protocolError(`${what}.${key} must be a string`);
  if (v.length > max) throw protocolError(`${what}.${key} is longer than ${max} characters`);
  return v;
}

export function optStr(o: Obj, key: string, what: string, max = 1024): string | undefined {
  return o[key] === undefined ? undefined : str(o, key, what, max);
}

export function uint(o: Obj, key: string, what: string, max = 0xffffffff): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw protocolError(`${what}.${key} must be an integer from 0 to ${max}`);
  }
  return v;
}

export function optUint(o: Obj, key: string, what: string, max = 0xffffffff): number | undefined {
  return o[key] === undefined ? undefined : uint(o, key, what, max);
}

export function optBool(o: Obj, key: string, what: string): boolean | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw protocolError(`${what}.${key} must be a boolean`);
  return v;
}
