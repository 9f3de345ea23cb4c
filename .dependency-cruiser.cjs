/**
 * The layer rules of src/ (docs/architecture.md, "Layers"), checked by `npm run lint:arch`.
 *
 * LAYERS lists the layers from the bottom up: a module imports only from its own layer and the
 * layers before it. `testing/` and `cli/` sit on top and may import everything, as does the
 * package entry `src/index.ts`. Type-only imports count (tsPreCompilationDeps), and an import that
 * cannot be resolved fails too, so a broken resolution cannot make the rules pass vacuously.
 */
const LAYERS = ['core', 'providers', 'store', 'schedule', 'integrations', 'lifecycle'];
const TOP = ['testing', 'cli'];

const upward = LAYERS.map((layer, i) => ({
  name: `layer-${layer}`,
  comment: `src/${layer}/ imports only ${i === 0 ? 'itself' : `src/{${LAYERS.slice(0, i + 1).join(',')}}/`} (docs/architecture.md, "Layers")`,
  severity: 'error',
  from: { path: `^src/${layer}/` },
  to: { path: `^src/(${[...LAYERS.slice(i + 1), ...TOP].join('|')})/|^src/index\\.ts$` },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'The import graph of src/ has no cycles.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...upward,
    {
      name: 'no-test-or-bench-from-src',
      comment: 'Nothing in src/ imports test/, bench/ or examples/.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|examples)/' },
    },
    {
      name: 'no-unresolvable',
      comment: 'Every import in src/ resolves (else the rules above would check nothing).',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      extensions: ['.ts', '.js', '.json'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
  },
};
