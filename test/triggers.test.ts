/**
 * Triggers on real tmux with the simulated agent: the hooks start `quota check` and
 * `dispatch` in a detached runner, and no test here runs `tick`, `quota check` or `dispatch`
 * itself unless it says so (as between two minutes of cron).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readEvents } from '../src/lib/core/events.js';
import { runCli } from './helpers/env.js';
import { deliverPrompt } from './helpers/type-prompt.js';
import { simSandbox, waitFor, type SimSandbox, type SimOptions } from './helpers/sim.js';

type Json = Record<string, unknown>;

const state = (sb: SimSandbox) =>
  JSON.parse(fs.readFileSync(path.join(sb.stateDir, 'state.json'), 'utf8')) as Json & {
    swaps: Json[];
    activeAccount: string;
    sessions: Record<string, { account?: string }>;
  };
const swapsStarted = (sb: SimSandbox) =>
  readEvents(sb.stateDir).filter((e) => e.event === 'swap.started').length;
const record = (sb: SimSandbox, kind: string) => {
  const file = path.join(sb.stateDir, 'triggers', `${kind}.json`);
  return fs.existsSync(file)
    ? (JSON.parse(fs.readFileSync(file, 'utf8')) as {
        runs: number;
        failures: number;
        last: { summary: string; exitCode: number; startedAt: string } | null;
      })
    : null;
};
const doneTasks = (sb: SimSandbox) => {
  try {
    return fs
      .readdirSync(path.join(sb.project, '.agent-queue', 'done'))
      .filter((n) => n.endsWith('.md'));
  } catch {
    return [];
  }
};

/** No runner at work and nothing pending: what a test waits for before it looks or leaves. */
async function runnersSettled(sb: SimSandbox): Promise<void> {
  const dir = path.join(sb.stateDir, 'triggers');
  await waitFor(
    () =>
      !fs.existsSync(dir) ||
      fs.readdirSync(dir).every((n) => !n.endsWith('.lock') && !n.endsWith('.pending')),
    'the trigger runners to finish',
    60_000,
  );
}

/** A clock-only reset three hours ahead, in UTC, as Claude Code prints it. */
function resetText(): string {
  const d = new Date(Date.now() + 3 * 3_600_000);
  const h = d.getUTCHours();
  return `resets ${h % 12 || 12}:${String(d.getUTCMinutes()).padStart(2, '0')}${h >= 12 ? 'pm' : 'am'} (UTC)`;
}

async function pool(opts: SimOptions & { names: string[] }): Promise<SimSandbox> {
  const sb = simSandbox({ triggers: true, extra: 'dispatch: { settle: 0s }', ...opts });
  expect((await sb.cli(['setup'])).exitCode).toBe(0);
  expect((await sb.cli(['session', 'start'])).exitCode).toBe(0);
  for (const n of opts.names) await sb.waitForPane(n, /❯/);
  return sb;
}

async function turn(sb: SimSandbox, session: string, text = '/sim say hello'): Promise<void> {
  expect(await deliverPrompt(sb.tmux, session, text)).toBe(true);
}

/** Runs `hook run StopFailure` as Claude Code would for `session`, with its launch env. */
function stopFailureHook(sb: SimSandbox, session: string, message: string) {
  return runCli(['hook', 'run', 'StopFailure'], {
    home: sb.home,
    env: {
      CLAUDE_FAILOVER_SESSION: session,
      CLAUDE_FAILOVER_ACCOUNT: 'primary',
      CLAUDE_FAILOVER_STATE_DIR: sb.stateDir,
      CLAUDE_FAILOVER_PROJECT: sb.project,
      CLAUDE_FAILOVER_CONFIG: sb.configFile,
    },
    input: JSON.stringify({
      session_id: `sid-${session}`,
      hook_event_name: 'StopFailure',
      error: 'rate_limit',
      last_assistant_message: message,
    }),
  });
}

function addTask(sb: SimSandbox, id: string, body: string): void {
  const inbox = path.join(sb.project, '.agent-queue', 'inbox');
  fs.mkdirSync(inbox, { recursive: true });
  fs.writeFileSync(path.join(inbox, `${id}.md`), body);
}

describe('triggers', () => {
  it('a StopFailure rate limit swaps within seconds, with no timer running', async () => {
    const names = ['ccl-0', 'ccl-1', 'ccl-2'];
    const sb = await pool({ sessions: 'ccl-{0..2}', names });
    expect(fs.existsSync(path.join(sb.stateDir, 'triggers', 'settings.json'))).toBe(true);
    sb.setLimit('primary', `You've hit your 5-hour limit · ${resetText()}`);
    await turn(sb, 'ccl-1');
    await waitFor(() => state(sb).swaps?.length === 1, 'the swap a trigger started');
    await runnersSettled(sb);
    const st = state(sb);
    expect(st.activeAccount).toBe('backup');
    expect(st.swaps[0]).toMatchObject({ from: 'primary', to: 'backup' });
    for (const n of names) expect(st.sessions[n]?.account).toBe('backup');
    expect(record(sb, 'limit')).toMatchObject({
      failures: 0,
      last: { summary: expect.stringMatching(/^quota check: swapped/), exitCode: 0 },
    });
    // Nothing ran on a timer: no tick, and the only quota checks were the trigger's.
    const events = readEvents(sb.stateDir);
    expect(events.some((e) => e.event.startsWith('tick.'))).toBe(false);
    expect(fs.readFileSync(path.join(sb.stateDir, 'trigger.log'), 'utf8')).toMatch(
      /limit \(StopFailure rate_limit from ccl-1\): quota check: swapped/,
    );
    // status and doctor show it.
    const status = JSON.parse((await sb.cli(['status', '--json'])).stdout) as Json;
    expect(status.triggers).toMatchObject({
      enabled: true,
      limit: { runs: expect.any(Number), failures: 0 },
    });
    expect((await sb.cli(['status'])).stdout).toMatch(
      /triggers: on \(limit, idle\)\n\s+last limit: .* from ccl-1 \(StopFailure rate_limit\): quota check: swapped/,
    );
    const doctor = JSON.parse((await sb.cli(['doctor', '--json'])).stdout) as {
      checks: Array<{ name: string; level: string; detail: string }>;
    };
    expect(doctor.checks.filter((c) => c.name === 'triggers')).toEqual([
      expect.objectContaining({
        level: 'ok',
        detail: expect.stringMatching(/^on \(limit, idle\); limit: \d+ runs, 0 failed/),
      }),
    ]);
  });

  it('20 simultaneous triggers start one swap; a trigger during the swap is not lost', async () => {
    const names = ['ccl-0', 'ccl-1', 'ccl-2', 'ccl-3'];
    // Slow starts keep the swap running long enough to trigger during it.
    const sb = await pool({
      sessions: 'ccl-{0..3}',
      names,
      agentEnv: { SIM_START_MS: '1500', SIM_TURN_MS: '300' },
    });
    const limit = `You've hit your 5-hour limit · ${resetText()}`;
    sb.setLimit('primary', limit);
    const hooks = await Promise.all(
      Array.from({ length: 20 }, (_, i) => stopFailureHook(sb, names[i % 4]!, limit)),
    );
    expect(hooks.map((h) => h.exitCode)).toEqual(Array(20).fill(0));
    await waitFor(() => swapsStarted(sb) === 1, 'swap.started');
    // During the swap: one more limit, and a task with an idle agent's Stop.
    expect(state(sb).swaps?.length ?? 0).toBe(0);
    expect((await stopFailureHook(sb, 'ccl-2', limit)).exitCode).toBe(0);
    addTask(sb, 'after-swap', 'sim-work: 50ms\nA task queued during the swap.\n');
    const stop = await runCli(['hook', 'run', 'Stop'], {
      home: sb.home,
      env: {
        CLAUDE_FAILOVER_SESSION: 'ccl-0',
        CLAUDE_FAILOVER_ACCOUNT: 'primary',
        CLAUDE_FAILOVER_STATE_DIR: sb.stateDir,
        CLAUDE_FAILOVER_PROJECT: sb.project,
        CLAUDE_FAILOVER_CONFIG: sb.configFile,
      },
      input: JSON.stringify({ session_id: 'sid-ccl-0', hook_event_name: 'Stop' }),
    });
    expect(stop.exitCode).toBe(0);
    await waitFor(
      () => doneTasks(sb).includes('after-swap.md'),
      'the task queued during the swap',
      60_000,
    );
    await runnersSettled(sb);
    expect(swapsStarted(sb)).toBe(1);
    expect(state(sb).swaps).toHaveLength(1);
    // The limit during the swap made the runner run again after it (the cooldown holds).
    const limitRecord = record(sb, 'limit')!;
    expect(limitRecord.runs).toBeGreaterThanOrEqual(2);
    expect(limitRecord.failures).toBe(0);
    expect(readEvents(sb.stateDir).some((e) => e.event.startsWith('tick.'))).toBe(false);
  });

  it('a failing run is an error event and a doctor warning, never a hook failure', async () => {
    const sb = simSandbox({ triggers: true });
    expect((await sb.cli(['setup'])).exitCode).toBe(0);
    // A state file that does not parse: every quota check exits 2 until doctor --repair.
    fs.mkdirSync(sb.stateDir, { recursive: true });
    fs.writeFileSync(path.join(sb.stateDir, 'state.json'), '{ not json');
    const hook = await stopFailureHook(sb, 'ccl-0', "You've hit your 5-hour limit");
    expect(hook.exitCode).toBe(0);
    await waitFor(() => record(sb, 'limit')?.failures === 1, 'the failed run recorded');
    await runnersSettled(sb);
    expect(readEvents(sb.stateDir).find((e) => e.event === 'trigger.failed')).toMatchObject({
      level: 'error',
      trigger: 'limit',
      session: 'ccl-0',
      exitCode: 2,
      error: expect.stringContaining('state.json'),
    });
    expect(fs.readFileSync(path.join(sb.stateDir, 'trigger.log'), 'utf8')).toMatch(
      /limit \(StopFailure rate_limit from ccl-0\): .*state\.json.*\(exit 2,/,
    );
    const doctor = JSON.parse((await sb.cli(['doctor', '--json'])).stdout) as {
      checks: Array<{ name: string; level: string; detail: string }>;
    };
    expect(doctor.checks).toContainEqual(
      expect.objectContaining({
        name: 'triggers',
        level: 'warn',
        detail: expect.stringMatching(/^the last limit run failed \(exit 2\)/),
      }),
    );
  });

  it('an idle agent gets the next task with no tick, one after another', async () => {
    const sb = await pool({ sessions: 'ccl-0', names: ['ccl-0'] });
    for (const id of ['t-1', 't-2', 't-3']) addTask(sb, id, `sim-work: 50ms\nTask ${id}.\n`);
    // One turn ends: its Stop hook hands out t-1; each task's end hands out the next.
    await turn(sb, 'ccl-0');
    await waitFor(() => doneTasks(sb).length === 3, 'all three tasks done', 60_000);
    await runnersSettled(sb);
    expect(record(sb, 'idle')).toMatchObject({ failures: 0 });
    expect(record(sb, 'idle')!.runs).toBeGreaterThanOrEqual(3);
    const events = readEvents(sb.stateDir);
    expect(events.some((e) => e.event.startsWith('tick.'))).toBe(false);
    expect(events.filter((e) => e.event === 'task.dispatched')).toHaveLength(3);
  });

  it('triggers off: the hooks start nothing, and the timer does the work as before', async () => {
    const sb = await pool({ sessions: 'ccl-{0..1}', names: ['ccl-0', 'ccl-1'], triggers: false });
    addTask(sb, 't-1', 'sim-work: 50ms\nTask one.\n');
    await turn(sb, 'ccl-0', '/sim say first');
    await sb.waitForPane('ccl-0', /● first[\s\S]*❯/);
    sb.setLimit('primary', `You've hit your 5-hour limit · ${resetText()}`);
    await turn(sb, 'ccl-1');
    await sb.waitForPane('ccl-1', /5-hour limit[\s\S]*❯/);
    // Both hooks have returned (the agent draws its prompt after them): nothing was asked.
    expect(fs.existsSync(path.join(sb.stateDir, 'trigger.log'))).toBe(false);
    expect(
      fs.readdirSync(path.join(sb.stateDir, 'triggers')).filter((n) => n !== 'settings.json'),
    ).toEqual([]);
    expect(state(sb).swaps ?? []).toHaveLength(0);
    expect(doneTasks(sb)).toEqual([]);
    // The timer's tick does it all.
    const tick = await sb.cli(['tick']);
    expect(tick.exitCode, tick.stderr).toBe(0);
    expect(state(sb).swaps).toHaveLength(1);
    await waitFor(() => doneTasks(sb).includes('t-1.md'), 't-1 done after the tick');
  });

  it('turning triggers off in the config reaches the hooks at the next tick, with no restart', async () => {
    const sb = await pool({ sessions: 'ccl-0', names: ['ccl-0'] });
    fs.writeFileSync(
      sb.configFile,
      fs
        .readFileSync(sb.configFile, 'utf8')
        .replace('triggers: { enabled: true }', 'triggers: { enabled: false }'),
    );
    expect((await sb.cli(['tick'])).exitCode).toBe(0);
    addTask(sb, 't-1', 'sim-work: 50ms\nTask one.\n');
    await turn(sb, 'ccl-0', '/sim say idle now');
    await sb.waitForPane('ccl-0', /● idle now[\s\S]*❯/);
    expect(fs.existsSync(path.join(sb.stateDir, 'trigger.log'))).toBe(false);
    expect(doneTasks(sb)).toEqual([]);
  });
});
