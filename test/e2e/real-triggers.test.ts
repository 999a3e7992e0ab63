/**
 * Triggers with the real Claude Code CLI against the loopback fake API, and no timer: the
 * agents' own hooks start the steps. A queued task reaches an idle agent from its Stop hook
 * (and is done through Claude Code's Bash tool), and a 429 limit moves both sessions to
 * `backup` from the StopFailure hook. The test never runs `tick`, `quota check` or `dispatch`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEvents } from '../../src/lib/core/events.js';
import { agentPid, processArgs, processEnv } from '../helpers/sim.js';
import {
  CLAUDE_VERSION,
  closeRealSandboxes,
  createRealSandbox,
  promptAndWait,
  waitFor,
  waitForPrompt,
  type RealSandbox,
} from '../helpers/real-claude.js';

const SESSIONS = ['rt-1', 'rt-2'];
type Json = Record<string, unknown>;
let sb: RealSandbox;

const events = () => readEvents(sb.stateDir) as Json[];
const queue = (dir: string) => {
  try {
    return fs.readdirSync(path.join(sb.project, '.agent-queue', dir));
  } catch {
    return [];
  }
};
const triggerLog = () => {
  try {
    return fs.readFileSync(path.join(sb.stateDir, 'trigger.log'), 'utf8');
  } catch {
    return '';
  }
};

beforeAll(async () => {
  sb = await createRealSandbox({
    accounts: ['primary', 'backup'],
    sessions: SESSIONS,
    triggers: true,
    apiOptions: { defaultMode: 'task', taskStepSeconds: 1 },
    extraYaml: 'dispatch: { settle: 0s }\nquota: { reactivateCooldown: 5m }',
  });
  expect((await sb.cli(['setup'])).exitCode).toBe(0);
  const r = await sb.cli(['session', 'start']);
  expect(r.exitCode, r.stderr).toBe(0);
  for (const s of SESSIONS) await waitForPrompt(sb.tmux, s);
}, 120_000);

afterAll(async () => {
  await closeRealSandboxes();
});

describe.sequential(`triggers with the real Claude Code CLI ${CLAUDE_VERSION}`, () => {
  it('a Stop hook hands the queued task to an idle agent, which runs task done', async () => {
    fs.mkdirSync(path.join(sb.project, '.agent-queue', 'inbox'), { recursive: true });
    fs.writeFileSync(path.join(sb.project, '.agent-queue', 'inbox', 't-1.md'), 'Say hello.\n');
    await promptAndWait(sb, 'rt-1', 'a turn that ends');
    await waitFor(
      () => queue('done').includes('t-1.md'),
      `t-1 done; trigger.log:\n${triggerLog()}`,
      90_000,
      250,
    );
    expect(events().filter((e) => e.event === 'task.delivered' && e.task === 't-1')).toHaveLength(
      1,
    );
    expect(triggerLog()).toMatch(/idle \(Stop from rt-1\): dispatch: 1 dispatched/);
  });

  it('a 429 limit: the StopFailure hook swaps both sessions to backup', async () => {
    sb.setMode('primary', 'limit');
    const signals = await promptAndWait(sb, 'rt-2', 'this one hits the limit');
    expect(signals).toContainEqual(
      expect.objectContaining({ event: 'StopFailure', error: 'rate_limit' }),
    );
    const swap = await waitFor(
      () => events().find((e) => e.event === 'swap.completed'),
      `swap.completed; trigger.log:\n${triggerLog()}`,
      120_000,
      250,
    );
    expect(swap).toMatchObject({ from: 'primary', to: 'backup' });
    for (const s of SESSIONS) {
      const pid = await agentPid(sb.tmux, s);
      expect(processEnv(pid).CLAUDE_CONFIG_DIR).toBe(sb.accounts[1]!.configDir);
      expect(processArgs(pid)).toContain('--resume');
    }
    expect(events().filter((e) => e.event === 'swap.started')).toHaveLength(1);
    // Nothing ran on a timer.
    expect(events().some((e) => String(e.event).startsWith('tick.'))).toBe(false);
    // The statusline's usage at 100% (the 429's headers) may ask first: either way one run
    // swaps, on the StopFailure signal already recorded, and the next is inside the cooldown.
    expect(triggerLog()).toMatch(
      /limit \((StopFailure rate_limit|5h usage \d+% >= swapAt 98) from rt-\d\): quota check: swapped/,
    );
  });
});
