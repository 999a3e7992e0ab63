// `quota explain` of a hostile screen: 20 lines of 15 000 characters that say "limit" over
// and over but are no limit message, beside `quota explain` of one real limit line. The
// classifier must not go quadratic on what an agent may print. Target: at most 500 ms more
// than the short one (the classification itself, start-up being the same on both sides).
//
// Run alone with `node bench/classify.mjs` (after `npm run build`), or through `npm run bench`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compare } from './lib.mjs';

export function benchClassify({ root, runs }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cf-bench-classify-'));
  try {
    const hostile = path.join(dir, 'hostile.txt');
    fs.writeFileSync(hostile, `${' '.repeat(3000)}${'limit '.repeat(2000)}\n`.repeat(20));
    const short = path.join(dir, 'short.txt');
    fs.writeFileSync(short, "You've hit your session limit · resets 5pm\n");
    const bin = path.join(root, 'bin', 'claude-failover.js');
    const config = path.join(root, 'config.example.yaml');
    const env = { ...process.env, HOME: dir, NO_COLOR: '1', CI: '1', TZ: 'UTC' };
    const cmd = (file) => [
      process.execPath,
      [bin, '-c', config, 'quota', 'explain', file],
      { env },
    ];
    const r = compare(cmd(hostile), cmd(short), runs);
    return {
      figure: '`quota explain` of a hostile 300 KB screen (20 lines × 15 000 chars)',
      value: `${r.subject.toFixed(0)} ms`,
      baseline: `one limit line ${r.baseline.toFixed(0)} ms`,
      result: `+${(r.subject - r.baseline).toFixed(0)} ms`,
      target: '≤ +500 ms',
      ok: r.subject - r.baseline <= 500,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  console.log(benchClassify({ root, runs: Number(process.env.BENCH_RUNS ?? 15) }));
}
