// Bundles the CLI with esbuild. One bundle with code splitting: each command is its own
// chunk (loaded by `await import()` in src/cli.ts), so start-up only parses what it runs.
// The hook entry is a second, self-contained bundle.
import { build } from 'esbuild';
import { readFile, rm } from 'node:fs/promises';

const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));

await rm(new URL('../dist', import.meta.url), { recursive: true, force: true });
const common = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  chunkNames: 'chunks/[name]-[hash]',
  // Some dependencies ship CommonJS that calls require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __cfCreateRequire } from 'node:module'; const require = __cfCreateRequire(import.meta.url);",
  },
  define: { __VERSION__: JSON.stringify(pkg.version) },
  // cosmiconfig loads typescript only for .ts configs, which we do not search for.
  external: ['typescript'],
  logLevel: 'warning',
};
await build({
  ...common,
  entryPoints: ['src/cli.ts', { in: 'src/sim/agent.ts', out: 'sim-agent' }],
  outdir: 'dist',
  splitting: true,
});
// The hooks Claude Code runs on every turn (and twice at each agent's start): one file with
// no chunks to resolve, which saves a fifth of their start-up (see bench/hooks.mjs).
await build({ ...common, entryPoints: ['src/hook-main.ts'], outfile: 'dist/hook-main.js' });
