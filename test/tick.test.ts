/** `tick` and `demo`: the product as cron runs it, and as a newcomer first sees it. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readEvents } from '../src/lib/core/events.js';
import { runCli, startWorker, tempDir, waitForOutput, worker } from './helpers/env.js';
import { simSandbox } from './helpers/sim.js';

type Step = { step: string; ran: boolean; exitCode: number; error: string | null; summary: string };

describe('tick', () => {
  it('runs watch, quota check, dispatch, checkpoint, janitor and the outbox, in that order', async () => {
    const sb = simSandbox({ sessions: 'ccl-{0..1}', extra: 'dispatch: { settle: 0s }' });
    await sb.cli(['setup']);
    await sb.cli(['session', 'start']);
    await sb.cli(['task', 'add', 'api', '-', '--id', 't1'], { input: 'sim-work: 200ms\n' });
    const r = await sb.cli(['tick', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { skipped: boolean; steps: Step[] };
    expect(out.skipped).toBe(false);
    expect(out.steps.map((s) => [s.step, s.ran])).toEqual([
      ['watch', true],
      ['quota', true],
      ['dispatch', true],
      ['checkpoint', true],
      ['janitor', true],
      ['outbox', true],
    ]);
    expect(out.steps.find((s) => s.step === 'dispatch')?.summary).toMatch(/^1 dispatched/);
    // Right after: checkpoint and janitor are not due.
    const again = JSON.parse((await sb.cli(['tick', '--json'])).stdout) as { steps: Step[] };
    expect(again.steps.filter((s) => !s.ran).map((s) => s.step)).toEqual(['checkpoint', 'janitor']);
    const state = JSON.parse(fs.readFileSync(path.join(sb.stateDir, 'state.json'), 'utf8'));
    // The tick's own heartbeat for the metrics: when it ended, and when it last succeeded.
    expect(Object.keys(state.lastRun).sort()).toEqual([
      'checkpoint',
      'janitor',
      'tick',
      'tickSuccess',
    ]);
    expect(state.lastRun.tick).toBe(state.lastRun.tickSuccess);
    expect(Date.parse(state.lastRun.tick)).toBeGreaterThanOrEqual(
      Date.parse(state.lastRun.janitor),
    );
  });

  it('an overlapping tick exits 0 at once and logs tick.skipped', async () => {
    const sb = simSandbox({ sessions: 'ccl-0' });
    fs.mkdirSync(sb.stateDir, { recursive: true });
    const holder = startWorker(await worker('file-lock-holder'), [path.join(sb.stateDir, 'tick')]);
    try {
      await waitForOutput(holder, 'locked');
      // The holder never lets go: a tick that waited for the lock would end in exit 75.
      const r = await sb.cli(['tick', '--json']);
      expect(r.exitCode).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ skipped: true, steps: [] });
      expect(readEvents(sb.stateDir).map((e) => e.event)).toContain('tick.skipped');
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('reports a failing step, runs the others, and exits with the worst code', async () => {
    // An unknown zone breaks only the quota step (exit 2).
    const sb = simSandbox({ sessions: 'ccl-0', extra: 'quota: { timezone: Mars/Olympus_Mons }' });
    const r = await sb.cli(['tick', '--json']);
    expect(r.exitCode).toBe(2);
    const out = JSON.parse(r.stdout) as { steps: Step[] };
    expect(out.steps.map((s) => s.step)).toEqual([
      'watch',
      'quota',
      'dispatch',
      'checkpoint',
      'janitor',
      'outbox',
    ]);
    expect(out.steps.find((s) => s.step === 'quota')).toMatchObject({
      exitCode: 2,
      error: expect.stringContaining('quota.timezone'),
    });
    expect(out.steps.filter((s) => s.error)).toHaveLength(1);
    expect(readEvents(sb.stateDir)).toContainEqual(
      expect.objectContaining({ event: 'tick.step-failed', step: 'quota' }),
    );
  });
});

describe('demo', () => {
  it('runs the main job in a sandbox, narrates it, and cleans up, with no config at all', async () => {
    const home = tempDir();
    const r = await runCli(['demo'], { home });
    expect(r.exitCode, r.stderr).toBe(0);
    for (const n of ['1.', '2.', '3.', '4.', '5.', '6.', '7.'])
      expect(r.stdout).toContain(`\n${n} `.slice(1));
    expect(r.stdout).toMatch(/swapped primary -> backup/);
    expect(r.stdout).toMatch(/All 6 tasks are done/);
    expect(r.stdout).toMatch(/active account: backup/);
    const sandbox = /sandbox in (\S+?):/.exec(r.stdout)![1]!;
    expect(fs.existsSync(sandbox)).toBe(false);
    const socket = /tmux server \(-L (\S+)\)/.exec(r.stdout)![1]!;
    const { Tmux } = await import('../src/lib/core/tmux.js');
    expect(await new Tmux(socket).listPanes()).toEqual([]);
  });

  it('--keep leaves the sandbox and says how to attach to it', async () => {
    const home = tempDir();
    const r = await runCli(['demo', '--keep', '--json'], { home });
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      sandbox: string;
      socket: string;
      kept: boolean;
      configFile: string;
    };
    const { Tmux } = await import('../src/lib/core/tmux.js');
    const tmux = new Tmux(out.socket);
    try {
      expect(out.kept).toBe(true);
      expect(fs.existsSync(out.configFile)).toBe(true);
      expect((await tmux.listPanes()).map((p) => p.session).sort()).toEqual([
        'demo-0',
        'demo-1',
        'demo-2',
      ]);
      const status = await runCli(['-c', out.configFile, 'status', '--json'], { home });
      expect(JSON.parse(status.stdout).activeAccount).toBe('backup');
    } finally {
      await tmux.killServer();
      fs.rmSync(out.sandbox, { recursive: true, force: true });
    }
    const human = await runCli(['demo', '--keep'], { home });
    const socket = /tmux -L (\S+) attach -t demo-0/.exec(human.stdout)?.[1];
    expect(socket).toBeTruthy();
    const sandbox = /rm -rf (\S+)/.exec(human.stdout)![1]!;
    await new Tmux(socket!).killServer();
    fs.rmSync(sandbox, { recursive: true, force: true });
  });
});
