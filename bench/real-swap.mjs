// The real-CLI figure (real-swap.measure.ts), run through vitest to reuse the e2e harness.
// Run alone with `node bench/real-swap.mjs` (after `npm run build`), or through `npm run bench`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Measures the figure and returns its row for bench/run.mjs. */
export function benchRealSwap({ root, runs }) {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cf-bench-real-')), 'row.json');
  try {
    const res = spawnSync(
      process.execPath,
      [
        path.join(root, 'node_modules', 'vitest', 'vitest.mjs'),
        'run',
        '-c',
        path.join(root, 'bench', 'vitest.real.config.ts'),
      ],
      {
        cwd: root,
        env: { ...process.env, BENCH_RUNS: String(runs), BENCH_OUT: out },
        encoding: 'utf8',
      },
    );
    if (!fs.existsSync(out))
      throw new Error(`exit ${res.status}: ${`${res.stdout}${res.stderr}`.slice(-2000)}`);
    return JSON.parse(fs.readFileSync(out, 'utf8'));
  } finally {
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  console.log(benchRealSwap({ root, runs: Number(process.env.BENCH_RUNS ?? 5) }));
}
