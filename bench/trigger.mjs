// Triggers, with no timer running (as between two minutes of cron): 5 projects × 4 simulated
// agents with `triggers.enabled`. Nothing here runs `tick`, `quota check` or `dispatch`; the
// agents' own hooks start them.
//
// - Limit: one agent ends a turn on the limit message. Its StopFailure hook records the signal
//   and starts the runner, which confirms the limit and swaps all 20 to the next account.
//   Measured from the hook's signal (its `ts`) to `swap.started`, to `swap.completed` (every
//   agent ready on the target), and the swap itself (`swap.started` to `swap.completed`).
//   Targets: ≤ 1 s; ≤ 1 s + the swap before triggers (4.1 s); ≤ 3 s.
// - Idle: a task is queued, then one agent ends a turn. Its Stop hook starts dispatch.
//   Measured from the Stop signal to `task.delivered` (Claude Code confirmed the prompt).
//   Target: ≤ 1 s.
// - The hook's own cost with triggers on: `hook run Stop` with a task waiting, which starts a
//   runner (a detached process) each time, beside `node -e 0`. Target ≤ 2×.
//
// Run alone with `node bench/trigger.mjs` (after `npm run build`), or through `npm run bench`.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median, timeOnce } from './lib.mjs';
import { simPool } from './sim.mjs';

const sleepSync = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
/** The swap of 20 agents before triggers (bench/RESULTS.md of the commit before them). */
const SWAP_BEFORE_MS = 4100;

function resetIn(hours) {
  const d = new Date(Date.now() + hours * 3_600_000);
  const h = d.getUTCHours();
  const mm = String(d.getUTCMinutes()).padStart(2, '0');
  return `resets ${h % 12 || 12}:${mm}${h >= 12 ? 'pm' : 'am'} (UTC)`;
}

function events(pool) {
  try {
    return fs
      .readFileSync(path.join(pool.stateDir, 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

function signals(pool, session) {
  try {
    return fs
      .readFileSync(path.join(pool.stateDir, 'signals', `${session}.jsonl`), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

function waitUntil(what, probe, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    sleepSync(20);
  }
}

/** No trigger runner at work and nothing pending. */
function runnersSettled(pool) {
  const dir = path.join(pool.stateDir, 'triggers');
  waitUntil('the trigger runners to finish', () =>
    fs.readdirSync(dir).every((n) => !n.endsWith('.lock') && !n.endsWith('.pending')),
  );
}

function turn(pool, session, text) {
  pool.tmux(['send-keys', '-t', `=${session}:`, '-l', text]);
  sleepSync(150);
  pool.tmux(['send-keys', '-t', `=${session}:`, 'Enter']);
}

const ms = (a, b) => Date.parse(b) - Date.parse(a);

function limitRuns(pool, accounts, runs) {
  const started = [];
  const ready = [];
  const swap = [];
  const who = pool.names[7];
  for (let i = 0; i < runs; i++) {
    sleepSync(1100); // past the cooldown of the previous swap
    const since = new Date().toISOString();
    pool.setLimit(accounts[i], `You've hit your 5-hour limit · ${resetIn(3)}`);
    turn(pool, who, 'keep going');
    const done = waitUntil(`run ${i}: swap.completed to ${accounts[i + 1]}`, () =>
      events(pool).find((e) => e.event === 'swap.completed' && e.ts > since),
    );
    const begin = events(pool).find((e) => e.event === 'swap.started' && e.ts > since);
    const hook = signals(pool, who).find(
      (s) => s.ts > since && s.event === 'StopFailure' && s.error === 'rate_limit',
    );
    if (!hook || !begin || done.to !== accounts[i + 1] || done.sessions?.length !== 20)
      throw new Error(`run ${i}: unexpected swap: ${JSON.stringify({ hook, begin, done })}`);
    if (done.sessions.some((s) => !s.ready)) throw new Error(`run ${i}: not every agent ready`);
    started.push(ms(hook.ts, begin.ts));
    ready.push(ms(hook.ts, done.ts));
    swap.push(ms(begin.ts, done.ts));
    pool.setLimit(accounts[i], null);
    runnersSettled(pool);
    pool.waitIdle();
  }
  if (events(pool).filter((e) => e.event === 'swap.started').length !== runs)
    throw new Error('a trigger started more than one swap per limit');
  return { started: median(started), ready: median(ready), swap: median(swap) };
}

function idleRuns(pool, runs) {
  const delivered = [];
  const who = pool.names[0];
  const project = pool.projectDir(who.slice(0, who.lastIndexOf('-')));
  const inbox = path.join(project, '.agent-queue', 'inbox');
  fs.mkdirSync(inbox, { recursive: true });
  for (let i = 0; i < runs; i++) {
    pool.waitIdle();
    runnersSettled(pool);
    const id = `bench-idle-${i}`;
    fs.writeFileSync(path.join(inbox, `${id}.md`), 'sim-work: 50ms\nA quick task.\n');
    const since = new Date().toISOString();
    turn(pool, who, '/sim say turn over');
    const got = waitUntil(`run ${i}: ${id} delivered`, () =>
      events(pool).find((e) => e.event === 'task.delivered' && e.task === id),
    );
    const stop = signals(pool, who).find((s) => s.ts > since && s.event === 'Stop');
    if (!stop)
      throw new Error(
        `run ${i}: no Stop signal from ${who} since ${since}; delivered ${got.ts}; signals ${JSON.stringify(
          signals(pool, who)
            .slice(-4)
            .map((s) => [s.ts, s.event]),
        )}; pane ${pool.pane(who).trim().split('\n').slice(-8).join(' | ')}`,
      );
    delivered.push(ms(stop.ts, got.ts));
    waitUntil(`run ${i}: ${id} done`, () =>
      fs.existsSync(path.join(project, '.agent-queue', 'done', `${id}.md`)),
    );
    // `task done` runs inside the turn: wait for that turn's Stop too, so it cannot hand out
    // the next run's task before the measured turn ends. The task may have gone to another
    // idle session of the project; its turn is that session's first since the measured Stop.
    waitUntil(`run ${i}: the task's turn on ${got.session} ended`, () =>
      signals(pool, got.session).some((s) => s.ts > stop.ts && s.event === 'Stop'),
    );
    // Its hook records the signal first and looks at the inbox last: let it finish, or it
    // hands out the next run's task before the measured Stop.
    sleepSync(1000);
  }
  return median(delivered);
}

/** `hook run Stop` with a task waiting (it starts a runner) vs `node -e 0`, alternating. */
function hookCost(pool, root, runs) {
  const who = pool.names[4];
  // A project no session works on: its task waits, and every Stop starts a runner for it.
  const project = path.join(pool.home, 'src', 'unlisted');
  fs.mkdirSync(path.join(project, '.agent-queue', 'inbox'), { recursive: true });
  fs.writeFileSync(path.join(project, '.agent-queue', 'inbox', 'waiting.md'), 'waits\n');
  const env = {
    ...pool.env,
    CLAUDE_FAILOVER_SESSION: who,
    CLAUDE_FAILOVER_ACCOUNT: 'acct0',
    CLAUDE_FAILOVER_STATE_DIR: pool.stateDir,
    CLAUDE_FAILOVER_PROJECT: project,
    CLAUDE_FAILOVER_CONFIG: pool.config,
  };
  const input = JSON.stringify({ session_id: 'bench', hook_event_name: 'Stop', cwd: project });
  const hook = [
    process.execPath,
    [path.join(root, 'bin', 'claude-failover.js'), 'hook', 'run', 'Stop'],
    { env, input, stdio: ['pipe', 'ignore', 'pipe'] },
  ];
  const base = [process.execPath, ['-e', '0'], { env }];
  const a = [];
  const b = [];
  const runsBefore = () => {
    try {
      return JSON.parse(fs.readFileSync(path.join(pool.stateDir, 'triggers', 'idle.json'), 'utf8'))
        .runs;
    } catch {
      return 0;
    }
  };
  for (let i = 0; i <= runs; i++) {
    const before = runsBefore();
    const t = timeOnce(...hook);
    // The runner it started: not part of the hook's cost, but not beside the next one either.
    waitUntil('the runner the hook started', () => runsBefore() > before);
    runnersSettled(pool);
    const n = timeOnce(...base);
    if (i === 0) continue; // a warm-up
    a.push(t);
    b.push(n);
  }
  return { subject: median(a), baseline: median(b) };
}

/** Measures the figures and returns their rows for bench/run.mjs. */
export function benchTriggers({ root, runs }) {
  const accounts = Array.from({ length: runs + 1 }, (_, i) => `acct${i}`);
  const pool = simPool({
    root,
    name: 'trigger',
    accounts,
    triggers: true,
    extra: 'quota: { reactivateCooldown: 1s }\ndispatch: { settle: 0s }',
  });
  try {
    pool.cli(['session', 'start']);
    pool.waitIdle();
    const cost = hookCost(pool, root, runs);
    const idle = idleRuns(pool, runs);
    const limit = limitRuns(pool, accounts, runs);
    const ratio = cost.subject / cost.baseline;
    const n = pool.names.length;
    return [
      {
        figure: `limit reported by the \`StopFailure\` hook → \`swap.started\` (triggers, no timer, ${n} agents)`,
        value: `${limit.started.toFixed(0)} ms`,
        baseline: '-',
        result: `${limit.started.toFixed(0)} ms`,
        target: '≤ 1 s',
        ok: limit.started <= 1000,
      },
      {
        figure: `limit → all ${n} agents ready on the next account (\`swap.completed\`)`,
        value: `${limit.ready.toFixed(0)} ms`,
        baseline: `the swap before triggers ${SWAP_BEFORE_MS} ms`,
        result: `${limit.ready.toFixed(0)} ms`,
        target: `≤ 1 s + ${SWAP_BEFORE_MS} ms`,
        ok: limit.ready <= 1000 + SWAP_BEFORE_MS,
      },
      {
        figure: `the swap of ${n} agents itself, \`swap.started\` → all ready`,
        value: `${limit.swap.toFixed(0)} ms`,
        baseline: `before triggers ${SWAP_BEFORE_MS} ms`,
        result: `${limit.swap.toFixed(0)} ms`,
        target: '≤ 3 s',
        ok: limit.swap <= 3000,
      },
      {
        figure: '`Stop` hook of an agent → its next queued task delivered (`task.delivered`)',
        value: `${idle.toFixed(0)} ms`,
        baseline: '-',
        result: `${idle.toFixed(0)} ms`,
        target: '≤ 1 s',
        ok: idle <= 1000,
      },
      {
        figure: '`hook run Stop` with triggers on and a task waiting (it starts the runner)',
        value: `${cost.subject.toFixed(0)} ms`,
        baseline: `\`node -e 0\` ${cost.baseline.toFixed(0)} ms`,
        result: `${ratio.toFixed(2)}×`,
        target: '≤ 2×',
        ok: ratio <= 2,
      },
    ];
  } finally {
    pool.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  for (const row of benchTriggers({ root, runs: Number(process.env.BENCH_RUNS ?? 5) }))
    console.log(row);
}
