// `npm run bench`: every speed figure, each the median of several runs beside its baseline
// from the same run. Prints one table and writes it to bench/RESULTS.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchCheckpoint } from './checkpoint.mjs';
import { benchClassify } from './classify.mjs';
import { benchConcurrency } from './concurrency.mjs';
import { benchDispatch } from './dispatch.mjs';
import { benchHooks } from './hooks.mjs';
import { compare } from './lib.mjs';
import { benchRealSwap } from './real-swap.mjs';
import { benchSwap } from './swap.mjs';
import { benchTick } from './tick.mjs';
import { benchTriggers } from './trigger.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const runs = Math.max(5, Number(process.env.BENCH_RUNS ?? 15));
// The figures that take seconds per run (live agents, 100 processes): fewer runs, never < 5.
const slowRuns = Math.max(5, Math.round(runs / 3));
const load = os.loadavg()[0].toFixed(2);
const node = process.execPath;
const bin = path.join(root, 'bin', 'claude-failover.js');
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cf-bench-'));
const env = {
  ...process.env,
  HOME: home,
  XDG_STATE_HOME: path.join(home, 'state'),
  NO_COLOR: '1',
  CI: '1',
};
const baseline = [node, ['-e', '0'], { env }];

const rows = [];
try {
  const r = compare(
    [node, [bin, 'status', '--json', '-c', path.join(root, 'config.example.yaml')], { env }],
    baseline,
    runs,
  );
  rows.push({
    figure: '`status --json` start-up (example config, 20 sessions)',
    value: `${r.subject.toFixed(0)} ms`,
    baseline: `\`node -e 0\` ${r.baseline.toFixed(0)} ms`,
    result: `${r.ratio.toFixed(2)}×`,
    target: '≤ 3×',
    ok: r.ratio <= 3,
  });
} finally {
  fs.rmSync(home, { recursive: true, force: true });
}

/** A figure that fails to measure is a row saying why; the others still run. */
async function measure(name, fn) {
  const started = Date.now();
  try {
    const r = await fn();
    rows.push(...(Array.isArray(r) ? r : [r]));
  } catch (err) {
    process.exitCode = 1;
    rows.push({
      figure: name,
      value: '-',
      baseline: '-',
      result: `error: ${String(err.message ?? err)
        .split('\n')[0]
        .replace(/\|/g, '\\|')}`,
      target: '-',
      ok: false,
    });
  }
  console.error(`${name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

await measure('hooks', () => benchHooks({ root, runs }));
await measure('checkpoint', () => benchCheckpoint({ root, runs }));
await measure('classify', () => benchClassify({ root, runs }));
await measure('dispatch', () => benchDispatch({ root, runs }));
await measure('tick', () => benchTick({ root, runs: slowRuns }));
await measure('swap', () => benchSwap({ root, runs: slowRuns }));
await measure('triggers', () => benchTriggers({ root, runs: slowRuns }));
await measure('real swap', () => benchRealSwap({ root, runs: slowRuns }));
await measure('concurrency', () => benchConcurrency({ root, runs: slowRuns }));

const header = '| figure | value | baseline | result | target | met |\n|---|---|---|---|---|---|';
const lines = rows.map(
  (r) =>
    `| ${r.figure} | ${r.value} | ${r.baseline} | ${r.result} | ${r.target} | ${r.ok ? 'yes' : 'NO'} |`,
);
const table = [header, ...lines].join('\n');
const md = `# Benchmark results\n\nMedians of ${runs} runs each (${slowRuns} for \`tick\`, \`swap\`, the triggers and the 100 concurrent commands, which take seconds per run), alternating with the baseline measured in the same run, on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)} (load average ${load} at the start). Regenerate with \`npm run bench\`; \`BENCH_RUNS=n\` changes the number of runs.\n\n${table}\n`;
fs.writeFileSync(path.join(root, 'bench', 'RESULTS.md'), md);
console.log(table);
