// `npm run bench`: every speed figure, each the median of several runs beside its baseline
// from the same run. Prints one table and writes it to bench/RESULTS.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchCheckpoint } from './checkpoint.mjs';
import { benchDispatch } from './dispatch.mjs';
import { compare } from './lib.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const runs = Number(process.env.BENCH_RUNS ?? 15);
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
rows.push(benchCheckpoint({ root, runs }));
rows.push(...benchDispatch({ root, runs }));

const header = '| figure | value | baseline | result | target | met |\n|---|---|---|---|---|---|';
const lines = rows.map(
  (r) =>
    `| ${r.figure} | ${r.value} | ${r.baseline} | ${r.result} | ${r.target} | ${r.ok ? 'yes' : 'NO'} |`,
);
const table = [header, ...lines].join('\n');
const md = `# Benchmark results\n\nMedians of ${runs} runs each, alternating with the baseline, on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}. Regenerate with \`npm run bench\`.\n\n${table}\n`;
fs.writeFileSync(path.join(root, 'bench', 'RESULTS.md'), md);
console.log(table);
