// `tick` over 20 live sessions with nothing to do: 5 projects × 4 simulated agents
// (bin/sim-agent.js), all idle at their prompt, no task in any inbox, no limit anywhere.
// Each run does the whole cycle (watch, quota check, dispatch, the outbox); checkpoint and
// janitor run on the first tick only (their intervals), which is the warm-up. Target: ≤ 1.5 s.
//
// Run alone with `node bench/tick.mjs` (after `npm run build`), or through `npm run bench`.
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median, timeOnce } from './lib.mjs';
import { simPool } from './sim.mjs';

/** Measures the figure and returns one row for bench/run.mjs. */
export function benchTick({ root, runs }) {
  const pool = simPool({ root, name: 'tick' });
  try {
    pool.cli(['session', 'start']);
    pool.waitIdle();
    // The first tick runs checkpoint and janitor too (never run before); check it did all.
    const first = JSON.parse(pool.cli(['tick', '--json']).stdout);
    const steps = Object.fromEntries(first.steps.map((s) => [s.step, s]));
    if (!steps.checkpoint?.ran || steps.dispatch?.summary !== '0 dispatched, 0 failed')
      throw new Error(`unexpected first tick: ${JSON.stringify(first)}`);
    const tick = pool.argv(['tick']);
    const baseline = [process.execPath, ['-e', '0'], { env: pool.env }];
    const t = [];
    const b = [];
    for (let i = 0; i < runs; i++) {
      t.push(timeOnce(...tick));
      b.push(timeOnce(...baseline));
    }
    // Nothing was restarted or swapped along the way.
    const res = spawnSync(...tick.slice(0, 2), { env: pool.env, encoding: 'utf8' });
    const st = pool.state();
    const alive = pool.tmux(['list-panes', '-a', '-F', '#{pane_dead}']).trim().split('\n');
    if (
      res.status !== 0 ||
      st.swaps.length ||
      Object.values(st.sessions).some((s) => s.restarts.length) ||
      alive.length !== pool.names.length ||
      alive.some((d) => d !== '0')
    )
      throw new Error(`the pool did not stay quiet: ${res.stderr} ${JSON.stringify(st)}`);
    const m = median(t);
    return {
      figure: `\`tick\`, ${pool.names.length} idle simulated agents, nothing to do`,
      value: `${m.toFixed(0)} ms`,
      baseline: `\`node -e 0\` ${median(b).toFixed(0)} ms`,
      result: `${m.toFixed(0)} ms`,
      target: '≤ 1.5 s',
      ok: m <= 1500,
    };
  } finally {
    pool.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  console.log(benchTick({ root, runs: Number(process.env.BENCH_RUNS ?? 7) }));
}
