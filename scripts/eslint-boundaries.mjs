// Import boundaries of src/ as allow-lists: each folder names what it may import (its own files,
// other src/ folders, packages, node: modules); everything else is an error, and so is a dynamic
// import() anywhere in src/. Used by eslint.config.js and by test/unit/lint-boundaries.test.ts.
import { builtinModules } from 'node:module';
import { dirname, relative, resolve, sep } from 'node:path';

/** What each folder of src/ may import. 'node' allows every node: module. */
export const ALLOWED = {
  protocol: ['protocol', 'cborg'],
  broker: ['broker', 'protocol'],
  transport: ['transport', 'protocol', 'node'],
  client: ['client', 'protocol', 'transport', 'node:events'],
  daemon: ['daemon', 'broker', 'transport', 'protocol', 'util', 'node', 'smol-toml'],
  cli: ['cli', 'client', 'protocol', 'util', 'node'],
  util: ['util', 'node'],
};

const builtins = new Set(builtinModules);

/** The folder of src/ that `file` lies in, or null. */
function srcFolder(srcRoot, file) {
  const rel = relative(srcRoot, file);
  if (rel.startsWith('..') || rel === '') return null;
  const first = rel.split(sep)[0];
  return rel.includes(sep) ? first : null;
}

/** What an import specifier names: a src/ folder, 'node:x', a package name, or an outside path. */
function target(srcRoot, file, spec) {
  if (spec.startsWith('.') || spec.startsWith('/')) {
    const abs = resolve(dirname(file), spec);
    const folder = srcFolder(srcRoot, abs);
    return folder === null
      ? { kind: 'outside', name: relative(srcRoot, abs) }
      : { kind: 'src', name: folder };
  }
  if (spec.startsWith('node:')) return { kind: 'node', name: spec.split('/')[0] };
  if (builtins.has(spec.split('/')[0])) return { kind: 'node', name: `node:${spec.split('/')[0]}` };
  const parts = spec.split('/');
  return { kind: 'package', name: spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0] };
}

function allows(list, t) {
  if (t.kind === 'node') return list.includes('node') || list.includes(t.name);
  if (t.kind === 'outside') return false;
  return list.includes(t.name);
}

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'each folder of src/ imports only what its allow-list names' },
    schema: [],
  },
  create(context) {
    const file = context.filename;
    const srcRoot = resolve(context.cwd, 'src');
    const folder = srcFolder(srcRoot, file);
    if (folder === null) return {};
    const list = ALLOWED[folder];
    const check = (node) => {
      if (node.source === null || node.source === undefined) return;
      if (node.source.type !== 'Literal' || typeof node.source.value !== 'string') return;
      const t = target(srcRoot, file, node.source.value);
      if (list === undefined) {
        context.report({ node: node.source, message: `src/${folder}/ has no import allow-list` });
      } else if (!allows(list, t)) {
        const what =
          t.kind === 'src'
            ? `src/${t.name}/`
            : t.kind === 'outside'
              ? `${t.name} (outside src/)`
              : t.name;
        context.report({
          node: node.source,
          message: `src/${folder}/ may not import ${what}; it may import ${list.join(', ')}`,
        });
      }
    };
    return {
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
      ImportExpression(node) {
        context.report({ node, message: 'no dynamic import() in src/: import statically' });
      },
    };
  },
};

/** The plugin and the config block that turns the rule on for src/. */
export const boundaries = [
  {
    files: ['src/**/*.ts'],
    plugins: { udsbus: { rules: { 'import-boundaries': rule } } },
    rules: { 'udsbus/import-boundaries': 'error' },
  },
];
