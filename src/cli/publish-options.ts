// The message options shared by pub, req, send and broadcast (priority, headers, type), checked
// before connecting. Imports client/ types and util/.

import type { PublishOptions } from '../client/index.js';
import { intOption, UsageError, type OptionSpecs } from '../util/args.js';

export const PRIORITY_OPTION = {
  priority: {
    type: 'string',
    short: 'p',
    arg: 'N',
    help: 'priority 0..255; higher overtakes lower in queues',
    default: '0',
  },
} as const satisfies OptionSpecs;

export const EXTRAS_OPTIONS = {
  header: {
    type: 'string',
    short: 'H',
    arg: 'K=V',
    multiple: true,
    help: 'add a header (repeatable)',
  },
  type: { type: 'string', short: 't', arg: 'N', help: 'application message type (uint32)' },
} as const satisfies OptionSpecs;

/** PublishOptions from the parsed values; throws UsageError. */
export function publishOptions(values: {
  priority?: string | undefined;
  header?: string[] | undefined;
  type?: string | undefined;
}): PublishOptions {
  const opts: PublishOptions = {};
  const p = intOption(values.priority, '--priority', 0, 255);
  if (p !== undefined) opts.priority = p;
  const t = intOption(values.type, '--type', 0, 0xffffffff);
  if (t !== undefined) opts.type = t;
  if (values.header !== undefined) {
    const headers: Record<string, string> = {};
    for (const h of values.header) {
      const eq = h.indexOf('=');
      if (eq <= 0) throw new UsageError(`--header wants K=V, got ${JSON.stringify(h)}`);
      headers[h.slice(0, eq)] = h.slice(eq + 1);
    }
    opts.headers = headers;
  }
  return opts;
}
