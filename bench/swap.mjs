// The swap of 20 live sessions, from detection to all agents ready: 5 projects × 4
// simulated agents (bin/sim-agent.js) on the active account, which hits its limit. Each run
// makes every agent end a turn on the limit message (the StopFailure hook fires, the pane
// shows it), then times `quota check`, which reads the evidence, confirms it, and swaps:
// checkpoint, stop all 20, relink, relaunch each with `--resume` (staggered by
// swap.launchStagger, default 50 ms) and wait for every prompt. Every run swaps to the next
// account (a swap for a limit marks the account left exhausted), so the pool has one account
// per run plus one. Also reported: the swap's own `durationMs` from the state file.
//
// Baseline: one agent start-up, `session start` of one session of the same pool (CLI start,
// launch, wait for the prompt). Target: ≤ 5 s + one agent start-up.
//
// Run alone with `node bench/swap.mjs` (after `npm run build`), or through `npm run bench`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median, timeOnce } from './lib.mjs';
import { simPool } from './sim.mjs';

const sleepSync = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** A clock-only reset `hours` from now in UTC, as Claude Code prints it: `resets 4:30pm (UTC)`. */
function resetIn(hours) {
  const d = new Date(Date.now() + hours * 3_600_000);
  const h = d.getUTCHours();
  const mm = String(d.getUTCMinutes()).padStart(2, '0');
  return `resets ${h % 12 || 12}:${mm}${h >= 12 ? 'pm' : 'am'} (UTC)`;
}

/** Every agent takes a turn on `account`, which ends on the limit; waits for the hooks. */
function hitLimit(pool, account) {
  const since = new Date().toISOString();
  pool.setLimit(account, `You've hit your session limit · ${resetIn(3)}`);
  for (const s of pool.names) pool.tmux(['send-keys', '-t', `=${s}:`, '-l', 'keep going']);
  sleepSync(200);
  for (const s of pool.names) pool.tmux(['send-keys', '-t', `=${s}:`, 'Enter']);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const waiting = pool.names.filter((s) => {
      const file = path.join(pool.stateDir, 'signals', `${s}.jsonl`);
      let text = '';
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch {
        return true;
      }
      return !text
        .trim()
        .split('\n')
        .some((l) => {
          const sig = JSON.parse(l);
          return sig.ts > since && sig.account === account && sig.error === 'rate_limit';
        });
    });
    if (!waiting.length) break;
    if (Date.now() > deadline) throw new Error(`no limit signal from ${waiting.join(', ')}`);
    sleepSync(100);
  }
  // Every agent back at its prompt under the limit message (its statusline has run), and a
  // moment for the last processes to end: cron finds the limit a while after it was hit.
  pool.waitPanes(pool.names, /hit your session limit[\s\S]*❯/);
  sleepSync(1000);
}

/** Measures the figure and returns one row for bench/run.mjs. */
export function benchSwap({ root, runs }) {
  const accounts = Array.from({ length: runs + 1 }, (_, i) => `acct${i}`);
  const pool = simPool({
    root,
    name: 'swap',
    accounts,
    // The cooldown after a swap would suppress the next run's detection.
    extra: 'quota: { reactivateCooldown: 1s }',
  });
  try {
    pool.cli(['session', 'start']);
    pool.waitIdle();
    const one = pool.names[0];
    const wall = [];
    const recorded = [];
    const startup = [];
    for (let i = 0; i < runs; i++) {
      // The baseline: one agent start-up, on the account the pool runs on.
      pool.cli(['session', 'stop', one]);
      startup.push(timeOnce(...pool.argv(['session', 'start', one])));
      pool.waitIdle();
      sleepSync(1100); // past the cooldown of the previous swap

      hitLimit(pool, accounts[i]);
      const t0 = process.hrtime.bigint();
      const res = spawnSync(...pool.argv(['quota', 'check', '--json']).slice(0, 2), {
        env: pool.env,
        encoding: 'utf8',
      });
      wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
      let out;
      try {
        out = JSON.parse(res.stdout);
      } catch {
        throw new Error(`quota check printed no JSON (exit ${res.status}): ${res.stderr}`);
      }
      const swap = out.swap;
      if (
        res.status !== 0 ||
        out.decision !== 'swapped' ||
        swap?.outcome !== 'completed' ||
        swap.to !== accounts[i + 1] ||
        swap.sessions.length !== pool.names.length ||
        swap.sessions.some((s) => !s.ready || s.fresh)
      )
        throw new Error(`run ${i}: unexpected quota check: ${res.stdout} ${res.stderr}`);
      recorded.push(pool.state().lastSwap.durationMs);
    }
    const w = median(wall);
    const s = median(startup);
    const limit = 5000 + s;
    return {
      figure: `\`swap\` of ${pool.names.length} simulated agents, from detection to all ready (\`quota check\` on a limit)`,
      value: `${w.toFixed(0)} ms (the swap record's \`durationMs\`: ${median(recorded).toFixed(0)} ms)`,
      baseline: `one agent start-up (\`session start\` of one) ${s.toFixed(0)} ms`,
      result: `${w.toFixed(0)} ms`,
      target: `≤ 5 s + one start-up (${limit.toFixed(0)} ms)`,
      ok: w <= limit,
    };
  } finally {
    pool.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  console.log(benchSwap({ root, runs: Number(process.env.BENCH_RUNS ?? 5) }));
}
