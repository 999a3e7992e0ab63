/** `watch`, the watchdog, on real tmux with the simulated agent. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { deliverPrompt } from './helpers/type-prompt.js';
import { readAgentStatus } from '../src/lib/queue/status-file.js';
import { inputBoxText } from '../src/lib/agents/screens.js';
import { readEvents } from '../src/lib/core/events.js';
import type { State } from '../src/lib/core/state-schema.js';
import { agentPid, processArgs, simSandbox, waitFor } from './helpers/sim.js';

type Action = { session: string; action: string; detail?: string };

async function watch(sb: ReturnType<typeof simSandbox>): Promise<Action[]> {
  const r = await sb.cli(['watch', '--json']);
  expect(r.exitCode, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { actions: Action[] }).actions;
}

async function started(sb: ReturnType<typeof simSandbox>, name = 'ccl-0'): Promise<string> {
  await sb.cli(['setup']);
  await sb.cli(['session', 'start']);
  return waitFor(() => readAgentStatus(sb.project).sessions[name]?.claudeSessionId, 'session id');
}

describe('watch', () => {
  it('restarts a killed agent with --resume and the same id', async () => {
    const sb = simSandbox({ sessions: 'ccl-0' });
    const id = await started(sb);
    await deliverPrompt(sb.tmux, 'ccl-0', '/sim say remember me');
    await sb.waitForPane('ccl-0', /● remember me/);
    expect((await watch(sb)).find((a) => a.session === 'ccl-0')?.action).toBe('ok');

    process.kill(await agentPid(sb.tmux, 'ccl-0'), 'SIGKILL');
    await waitFor(async () => (await sb.tmux.sessions()).get('ccl-0')?.dead, 'a dead pane');
    const actions = await watch(sb);
    expect(actions).toContainEqual(
      expect.objectContaining({ session: 'ccl-0', action: 'restarted' }),
    );
    await sb.waitForPane('ccl-0', new RegExp(`Resumed conversation ${id}`));
    expect(processArgs(await agentPid(sb.tmux, 'ccl-0')).slice(-2)).toEqual(['--resume', id]);
    const state = JSON.parse(fs.readFileSync(`${sb.stateDir}/state.json`, 'utf8'));
    expect(state.sessions['ccl-0'].restarts).toHaveLength(1);
    expect(readEvents(sb.stateDir)).toContainEqual(
      expect.objectContaining({ event: 'session.restarted', session: 'ccl-0', resume: id }),
    );
  });

  it('re-prompts the task a crashed agent had in flight, after resuming its conversation', async () => {
    const sb = simSandbox({ sessions: 'ccl-0' });
    const id = await started(sb);
    await deliverPrompt(sb.tmux, 'ccl-0', '/sim say working on it');
    await sb.waitForPane('ccl-0', /● working on it/);
    sb.dispatched('T-7', 'ccl-0', 'sim-say: picked it up again\n');
    process.kill(await agentPid(sb.tmux, 'ccl-0'), 'SIGKILL');
    await waitFor(async () => (await sb.tmux.sessions()).get('ccl-0')?.dead, 'a dead pane');
    expect((await watch(sb))[0]?.action).toBe('restarted');
    expect(processArgs(await agentPid(sb.tmux, 'ccl-0')).slice(-2)).toEqual(['--resume', id]);
    await sb.waitForPane('ccl-0', /● picked it up again/);
    expect(await sb.pane('ccl-0')).toContain('restarted after it stopped unexpectedly');
    expect(readEvents(sb.stateDir)).toContainEqual(
      expect.objectContaining({ event: 'session.restarted', session: 'ccl-0', task: 'T-7' }),
    );
  });

  it('a re-prompt Claude Code never confirms is owed, and the next dispatch sends watch.resumePrompt again', async () => {
    const sb = simSandbox({ sessions: 'ccl-0', confirmTimeout: '1s' });
    await started(sb);
    await deliverPrompt(sb.tmux, 'ccl-0', '/sim say working on it');
    await sb.waitForPane('ccl-0', /● working on it/);
    sb.dispatched('T-8', 'ccl-0', 'sim-say: picked it up in the end\n');
    const deaf = path.join(sb.accountDir('primary'), 'sim', 'deaf');
    fs.mkdirSync(path.dirname(deaf), { recursive: true });
    fs.writeFileSync(deaf, '');
    process.kill(await agentPid(sb.tmux, 'ccl-0'), 'SIGKILL');
    await waitFor(async () => (await sb.tmux.sessions()).get('ccl-0')?.dead, 'a dead pane');
    expect((await watch(sb))[0]?.action).toBe('restarted');
    const state = () => JSON.parse(fs.readFileSync(`${sb.stateDir}/state.json`, 'utf8'));
    expect(state().sessions['ccl-0'].undelivered).toMatchObject({
      task: 'T-8',
      prompt: 'resume',
      by: 'watch',
    });
    fs.rmSync(deaf);
    // The unconfirmed prompt was cleared from the input box (a loaded machine may still be
    // drawing that): the next dispatch finds the agent at an empty prompt.
    await waitFor(
      async () => !inputBoxText(await sb.tmux.capturePane('ccl-0', 30)),
      'the input box cleared',
    );
    const d = await sb.cli(['dispatch', '--json']);
    expect(d.exitCode, d.stderr).toBe(0);
    expect(JSON.parse(d.stdout).redelivered).toMatchObject([
      { task: 'T-8', session: 'ccl-0', outcome: 'delivered' },
    ]);
    await sb.waitForPane('ccl-0', /● picked it up in the end/);
    expect(await sb.pane('ccl-0')).toContain('restarted after it stopped unexpectedly');
    expect(state().sessions['ccl-0'].undelivered).toBeNull();
  });

  it('restarts a missing tmux session and one whose pane is back at a shell', async () => {
    const sb = simSandbox({ sessions: 'ccl-{0..1}' });
    await started(sb, 'ccl-1');
    await sb.tmux.killSession('ccl-0');
    await sb.tmux.killSession('ccl-1');
    await sb.tmux.run(['new-session', '-d', '-s', 'ccl-1', '-c', sb.project, 'bash', '--norc']);
    const actions = await watch(sb);
    // Nothing was said yet, so there is no transcript to resume: both start fresh.
    expect(
      actions
        .filter((a) => a.action === 'restarted-fresh')
        .map((a) => a.session)
        .sort(),
    ).toEqual(['ccl-0', 'ccl-1']);
    expect(actions.find((a) => a.session === 'ccl-1')?.detail).toContain('back at bash');
    await sb.waitForPane('ccl-0', /^❯/m);
    await sb.waitForPane('ccl-1', /^❯/m);
  });

  it('starts fresh, and says so, when --resume finds no conversation', async () => {
    const sb = simSandbox({ sessions: 'ccl-0' });
    const id = await started(sb);
    await deliverPrompt(sb.tmux, 'ccl-0', '/sim say hello');
    await sb.waitForPane('ccl-0', /● hello/);
    const transcript = readAgentStatus(sb.project).sessions['ccl-0']!.transcriptPath as string;
    // The transcript is gone (moved away: never deleted by us).
    fs.renameSync(transcript, `${transcript}.moved`);
    process.kill(await agentPid(sb.tmux, 'ccl-0'), 'SIGKILL');
    await waitFor(async () => (await sb.tmux.sessions()).get('ccl-0')?.dead, 'a dead pane');

    const actions = await watch(sb);
    expect(actions).toContainEqual(
      expect.objectContaining({ session: 'ccl-0', action: 'restarted-fresh' }),
    );
    const pid = await agentPid(sb.tmux, 'ccl-0');
    expect(processArgs(pid)).not.toContain('--resume');
    // The new conversation in the hooks' status.json (written by the hook, and by watch in
    // case the hook's best-effort write lost its lock race) and in the state.
    const hooked = () => readAgentStatus(sb.project).sessions['ccl-0']?.claudeSessionId ?? null;
    const recorded = () =>
      (JSON.parse(fs.readFileSync(`${sb.stateDir}/state.json`, 'utf8')) as State).sessions['ccl-0']
        ?.claudeSessionId ?? null;
    await waitFor(() => {
      const now = hooked();
      return now && now !== id && now === recorded();
    }, 'a new conversation id').catch((err: Error) => {
      throw new Error(
        `${err.message}; status.json ${hooked()}, state ${recorded()}, signals ${fs
          .readFileSync(`${sb.stateDir}/signals/ccl-0.jsonl`, 'utf8')
          .trim()
          .split('\n')
          .slice(-4)
          .join(' ')}`,
      );
    });
    expect(readEvents(sb.stateDir)).toContainEqual(
      expect.objectContaining({ event: 'session.resume-missing', claudeSessionId: id }),
    );
    // The next watch finds it healthy: no loop.
    expect((await watch(sb)).find((a) => a.session === 'ccl-0')?.action).toBe('ok');
  });

  it('gives up after maxRestarts within restartWindow: degraded, with an event', async () => {
    const sb = simSandbox({
      sessions: 'ccl-0',
      extra: 'watch: { maxRestarts: 2, restartWindow: 1h }',
    });
    await started(sb);
    await deliverPrompt(sb.tmux, 'ccl-0', '/sim say keep me');
    await sb.waitForPane('ccl-0', /● keep me/);
    for (let i = 0; i < 2; i++) {
      await sb.tmux.killSession('ccl-0');
      expect((await watch(sb))[0]?.action).toBe('restarted');
    }
    await sb.tmux.killSession('ccl-0');
    expect((await watch(sb))[0]?.action).toBe('degraded');
    expect(readEvents(sb.stateDir)).toContainEqual(
      expect.objectContaining({ event: 'session.degraded', session: 'ccl-0', level: 'error' }),
    );
    // Degraded stays down until the operator acts.
    expect((await watch(sb))[0]).toMatchObject({ action: 'skipped', detail: 'degraded' });
    expect(await sb.tmux.hasSession('ccl-0')).toBe(false);
    const list = JSON.parse((await sb.cli(['session', 'list', '--json'])).stdout);
    expect(list.sessions[0].state).toBe('degraded');
  });

  it('leaves a session the operator stopped alone', async () => {
    const sb = simSandbox({ sessions: 'ccl-0' });
    await started(sb);
    await sb.cli(['session', 'stop', 'ccl-0']);
    expect((await watch(sb))[0]).toMatchObject({ action: 'skipped' });
    expect(await sb.tmux.hasSession('ccl-0')).toBe(false);
  });

  it('reports a session that stays working with no transcript growth as stuck, once', async () => {
    const sb = simSandbox({ sessions: 'ccl-0', extra: 'watch: { stuckAfter: 1s }' });
    await started(sb);
    await deliverPrompt(sb.tmux, 'ccl-0', '/sim sleep 20000');
    await waitFor(
      () => readAgentStatus(sb.project).sessions['ccl-0']?.state === 'working',
      'working',
    );
    await new Promise((r) => setTimeout(r, 1600));
    expect((await watch(sb))[0]?.action).toBe('stuck');
    expect((await watch(sb))[0]?.action).toBe('stuck');
    const stuck = readEvents(sb.stateDir).filter((e) => e.event === 'session.stuck');
    expect(stuck).toHaveLength(1);
    expect(stuck[0]).toMatchObject({ session: 'ccl-0', level: 'warn' });
  });
});
