// The package version, read once from package.json.
import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** udsbus's version string (from package.json). */
export function packageVersion(): string {
  if (cached === undefined) {
    const url = new URL('../../../package.json', import.meta.url);
    cached = (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
  }
  return cached;
}
