// The swap of 4 real Claude Code sessions (the pinned CLI against the loopback fake API),
// each with a task in flight, from `swap.started` to every resume prompt confirmed by
// Claude Code (`task.delivered` by the swap), beside one real agent's start-up measured in
// the same run (`session start` of a fifth session: CLI start, launch, Claude Code's own
// word that it is ready). Target: ≤ 2× that start-up. Each run swaps to the other account,
// then lets the resumed tasks finish. Writes its row to $BENCH_OUT (see real-swap.mjs).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, it } from 'vitest';
import { readSignals } from '../src/lib/claude/signals.js';
import { readEvents } from '../src/lib/core/events.js';
import {
  CLAUDE_VERSION,
  closeRealSandboxes,
  createRealSandbox,
  waitFor,
  waitForPrompt,
  type RealSandbox,
} from '../test/helpers/real-claude.js';

const SESSIONS = ['rb-1', 'rb-2', 'rb-3', 'rb-4'];
const EXTRA = 'rb-5';
const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 5));

type Json = Record<string, unknown>;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const events = (sb: RealSandbox) => readEvents(sb.stateDir) as Json[];

const queue = (sb: RealSandbox, dir: string) => {
  try {
    return fs.readdirSync(path.join(sb.project, '.agent-queue', dir));
  } catch {
    return [];
  }
};

afterAll(async () => {
  await closeRealSandboxes();
});

it(`the swap of ${SESSIONS.length} real sessions (${CLAUDE_VERSION})`, async () => {
  const sb = await createRealSandbox({
    accounts: ['primary', 'backup'],
    sessions: [...SESSIONS, EXTRA],
    // Two work steps of 4 s, then `task done`: in flight at the swap, done soon after.
    apiOptions: { defaultMode: 'task', taskStepSeconds: 4 },
    extraYaml: 'dispatch: { settle: 0s }',
  });
  const must = async (args: string[]) => {
    const r = await sb.cli(args);
    if (r.exitCode !== 0) throw new Error(`${args.join(' ')}: exit ${r.exitCode}: ${r.stderr}`);
    return r;
  };
  await must(['setup']);
  await must(['session', 'start', ...SESSIONS]);
  for (const s of SESSIONS) await waitForPrompt(sb.tmux, s);
  const startup: number[] = [];
  const swap: number[] = [];
  const allStarted: number[] = [];
  const inbox = path.join(sb.project, '.agent-queue', 'inbox');
  fs.mkdirSync(inbox, { recursive: true });
  for (let i = 0; i < runs; i++) {
    let t0 = Date.now();
    await must(['session', 'start', EXTRA]);
    startup.push(Date.now() - t0);
    await must(['session', 'stop', EXTRA]);

    const ids = SESSIONS.map((_, k) => `r${i}-t${k}`);
    for (const id of ids) fs.writeFileSync(path.join(inbox, `${id}.md`), `Task ${id}.\n`);
    const steps = () => sb.api.toolCalls.filter((c) => c.kind === 'work').length;
    const before = steps();
    await must(['dispatch']);
    // Every agent in its first work step.
    await waitFor(() => steps() >= before + ids.length, 'the tasks in flight', 60_000, 100);
    const since = new Date().toISOString();
    t0 = Date.now();
    await must(['swap', '--to', i % 2 ? 'primary' : 'backup', '--reason', 'bench']);
    const started = events(sb).find((e) => e.event === 'swap.started' && String(e.ts) > since);
    const prompted = events(sb).filter(
      (e) => e.event === 'task.delivered' && e.by === 'swap' && ids.includes(String(e.task)),
    );
    if (!started || prompted.length !== ids.length)
      throw new Error(`run ${i}: ${prompted.length} of ${ids.length} resume prompts confirmed`);
    const last = Math.max(...prompted.map((e) => Date.parse(String(e.ts))));
    swap.push(last - Date.parse(String(started.ts)));
    // Where the time went: every agent stopped, relaunched and started (its SessionStart).
    const sessionStarts = SESSIONS.map((name) =>
      readSignals(sb.stateDir, name, String(started.ts)).find((g) => g.event === 'SessionStart'),
    );
    if (sessionStarts.every(Boolean))
      allStarted.push(
        Math.max(...sessionStarts.map((g) => Date.parse(g!.ts))) - Date.parse(String(started.ts)),
      );
    await waitFor(
      () => ids.every((id) => queue(sb, 'done').includes(`${id}.md`)),
      `run ${i}: the resumed tasks done`,
      120_000,
      250,
    );
  }
  const s = median(startup);
  const w = median(swap);
  const row = {
    figure: `the swap of ${SESSIONS.length} real Claude Code sessions (${CLAUDE_VERSION}, fake API), \`swap.started\` → every resume prompt confirmed`,
    value: `${w.toFixed(0)} ms (every agent's SessionStart at ${allStarted.length ? `${median(allStarted).toFixed(0)} ms` : '?'})`,
    baseline: `one real agent start-up (\`session start\` of one) ${s.toFixed(0)} ms`,
    result: `${(w / s).toFixed(2)}×`,
    target: '≤ 2× one start-up',
    ok: w <= 2 * s,
  };
  if (process.env.BENCH_OUT) fs.writeFileSync(process.env.BENCH_OUT, JSON.stringify(row));
  else console.log(row);
});
