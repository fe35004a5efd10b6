// Import boundaries of src/ as allow-lists: each folder names what it may import (its own files,
// other src/ folders, packages, node: modules); everything else is an error, and so is a dynamic
// import() anywhere in src/. examples/ may import only the public client API
// (src/client/index.ts), node: modules and other files of examples/.
// Used by eslint.config.js and by test/unit/lint-boundaries.test.ts.
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

/** What examples/ may import besides node: modules and its own files: the client's public API. */
export const EXAMPLES_MAY_IMPORT = 'src/client/index.js';

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

/** True when `file` lies inside the folder `root`. */
function inside(root, file) {
  const rel = relative(root, file);
  return rel !== '' && !rel.startsWith('..');
}

/** The checks for a file of examples/: the public client API, node: modules, examples/ files. */
function examplesRule(context, root) {
  const api = resolve(root, EXAMPLES_MAY_IMPORT);
  const exRoot = resolve(root, 'examples');
  const check = (node) => {
    if (node.source === null || node.source === undefined) return;
    if (node.source.type !== 'Literal' || typeof node.source.value !== 'string') return;
    const spec = node.source.value;
    let ok;
    if (spec.startsWith('.') || spec.startsWith('/')) {
      const abs = resolve(dirname(context.filename), spec);
      ok = abs === api || inside(exRoot, abs);
    } else {
      ok = spec.startsWith('node:') || builtins.has(spec.split('/')[0]);
    }
    if (!ok) {
      context.report({
        node: node.source,
        message: `examples/ may not import ${spec}; it may import ${EXAMPLES_MAY_IMPORT} (the public client API), node: modules and examples/ files`,
      });
    }
  };
  return {
    ImportDeclaration: check,
    ExportNamedDeclaration: check,
    ExportAllDeclaration: check,
    ImportExpression(node) {
      context.report({ node, message: 'no dynamic import() in examples/: import statically' });
    },
  };
}

const rule = {
  meta: {
    type: 'problem',
    docs: {
      description: 'each folder of src/ (and examples/) imports only what its allow-list names',
    },
    schema: [],
  },
  create(context) {
    const file = context.filename;
    if (inside(resolve(context.cwd, 'examples'), file)) return examplesRule(context, context.cwd);
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

/** The plugin and the config block that turns the rule on for src/ and examples/. */
export const boundaries = [
  {
    files: ['src/**/*.ts', 'examples/**/*.ts'],
    plugins: { udsbus: { rules: { 'import-boundaries': rule } } },
    rules: { 'udsbus/import-boundaries': 'error' },
  },
];
