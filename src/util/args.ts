// Command-line arguments for `udsbus` and `udsbus daemon`: a thin layer over node:util parseArgs
// whose option specs also carry the help text, and whose errors are plain usage messages.
// Imports only node:util.

import { parseArgs } from 'node:util';

/** A usage error: the command line is wrong (exit code 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** One option: what parseArgs needs, plus what help and the generated docs print. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
  /** The value's placeholder in help (`N`, `PATH`); string options only. */
  readonly arg?: string;
  /** One line: what the option does. */
  readonly help: string;
  /** The default, as help and the docs show it. */
  readonly default?: string;
  /** Docs only: a Markdown pointer appended in the generated tables (`see [Flow control](#flow-control)`). */
  readonly see?: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** The parsed value type of each option in `O`. */
export type OptionValues<O extends OptionSpecs> = {
  [K in keyof O]?: O[K]['type'] extends 'boolean'
    ? boolean
    : O[K]['multiple'] extends true
      ? string[]
      : string;
};

/** Parses `argv` against `specs`; throws UsageError with a one-line message. */
export function parseOptions<O extends OptionSpecs>(
  argv: readonly string[],
  specs: O,
  allowPositionals = true,
): { values: OptionValues<O>; positionals: string[] } {
  const options: Record<
    string,
    { type: 'string' | 'boolean'; short?: string; multiple?: boolean }
  > = {};
  for (const [name, s] of Object.entries(specs)) {
    options[name] = {
      type: s.type,
      ...(s.short === undefined ? {} : { short: s.short }),
      ...(s.multiple === true ? { multiple: true } : {}),
    };
  }
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options,
      allowPositionals,
      strict: true,
    });
    return { values: values as OptionValues<O>, positionals };
  } catch (err) {
    throw new UsageError(explain(argv, specs, allowPositionals, err));
  }
}

/**
 * Turns a parseArgs failure into one plain line. parseArgs's own messages ("argument is
 * ambiguous", an unknown option with an unbalanced quote) are written for programmers; this
 * walks the tokens again, leniently, to name the argument at fault.
 */
function explain(
  argv: readonly string[],
  specs: OptionSpecs,
  allowPositionals: boolean,
  err: unknown,
): string {
  const { tokens } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(
      Object.entries(specs).map(([n, s]) => [
        n,
        { type: s.type, ...(s.short === undefined ? {} : { short: s.short }) },
      ]),
    ),
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  for (const t of tokens) {
    if (t.kind === 'positional') {
      if (!allowPositionals) return `unexpected argument ${JSON.stringify(t.value)}`;
      continue;
    }
    if (t.kind !== 'option') continue;
    const spec = specs[t.name];
    if (spec === undefined) return `unknown option ${JSON.stringify(t.rawName)}`;
    const flag = optionLabel(t.name, spec);
    if (spec.type === 'boolean' && t.inlineValue === true)
      return `option ${flag} takes no value (got ${JSON.stringify(`${t.rawName}=${t.value ?? ''}`)})`;
    if (spec.type === 'string') {
      if (t.value === undefined) return `option ${flag} needs a value`;
      if (!t.inlineValue && t.value.startsWith('-')) {
        return `option ${flag} needs a value, got the option-like ${JSON.stringify(t.value)} (write --${t.name}=${t.value} if that is the value)`;
      }
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0] ?? message;
}

/** `-c, --count N` / `--json`. */
export function optionLabel(name: string, spec: OptionSpec): string {
  const long = `--${name}${spec.type === 'string' ? ` ${spec.arg ?? 'VALUE'}` : ''}`;
  return spec.short === undefined ? long : `-${spec.short}, ${long}`;
}

/** The "Options:" lines of a help text, aligned. */
export function formatOptions(specs: OptionSpecs): string {
  const rows = Object.entries(specs).map(([name, s]) => {
    const label = optionLabel(name, s);
    return [s.short === undefined ? `    ${label}` : label, describe(s)] as const;
  });
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return rows.map(([l, d]) => `  ${l.padEnd(width)}${d}`).join('\n');
}

function describe(s: OptionSpec): string {
  return s.default === undefined ? s.help : `${s.help} (default ${s.default})`;
}

/** A Markdown table of the options (option, default, what it does), for the docs. */
export function optionsTable(specs: OptionSpecs): string {
  const esc = (t: string): string => t.replace(/\|/g, '\\|');
  const rows = Object.entries(specs).map(([name, s]) => {
    const long = `\`--${name}${s.type === 'string' ? ` ${s.arg ?? 'VALUE'}` : ''}\``;
    const label = s.short === undefined ? long : `\`-${s.short}\`, ${long}`;
    const what = s.see === undefined ? s.help : `${s.help}; ${s.see}`;
    return `| ${esc(label)} | ${s.default === undefined ? '' : esc(`\`${s.default}\``)} | ${esc(what)} |`;
  });
  return ['| option | default | what it does |', '| --- | --- | --- |', ...rows].join('\n');
}

/**
 * An integer option value, or undefined when absent; `flag` names it in the message
 * (`--count`). Throws UsageError outside [min, max].
 */
export function intOption(
  value: string | undefined,
  flag: string,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (value === undefined) return undefined;
  const n = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range =
      max === Number.MAX_SAFE_INTEGER
        ? `an integer of at least ${min}`
        : `an integer from ${min} to ${max}`;
    throw new UsageError(`${flag} must be ${range}, got ${JSON.stringify(value)}`);
  }
  return n;
}
