/**
 * The hooks' side of the triggers, in-process: which hook events and statusline readings
 * leave a pending mark, and that nothing does without the settings. A fresh runner lock is
 * in place, as while a runner works, so no hook here starts a process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runHook, runStatusline } from '../../src/lib/claude/hook-handler.js';
import { tempDir } from '../helpers/env.js';

let home: string;
let stateDir: string;
let project: string;
let env: NodeJS.ProcessEnv;
const NOW = new Date('2026-12-04T10:00:00Z');
const RESET_A = 1_796_400_000; // a window's resets_at (epoch seconds)
const RESET_B = RESET_A + 5 * 3600;

const triggersDir = () => path.join(stateDir, 'triggers');
const pending = (kind: string) => {
  const file = path.join(triggersDir(), `${kind}.pending`);
  if (!fs.existsSync(file)) return null;
  const request = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  fs.unlinkSync(file);
  return request;
};

function settings(over: Record<string, unknown> = {}): void {
  fs.mkdirSync(triggersDir(), { recursive: true });
  fs.writeFileSync(
    path.join(triggersDir(), 'settings.json'),
    JSON.stringify({
      enabled: true,
      limit: true,
      idle: true,
      drainAt: 90,
      swapAt: 98,
      staleAfterMs: 30_000,
      ...over,
    }),
  );
  // A live runner: the hooks leave their marks for it and start nothing.
  for (const kind of ['limit', 'idle'])
    fs.mkdirSync(path.join(triggersDir(), `${kind}.lock`), { recursive: true });
}

const statusline = (fiveHour: number, resetsAt = RESET_A) =>
  runStatusline(
    JSON.stringify({
      session_id: 's',
      rate_limits: { five_hour: { used_percentage: fiveHour, resets_at: resetsAt } },
    }),
    env,
    NOW,
  );

const hook = (event: string, fields: Record<string, unknown> = {}) =>
  runHook(event, JSON.stringify({ session_id: 's', ...fields }), env, NOW);

beforeEach(() => {
  home = tempDir('cf-hook-trigger-');
  stateDir = path.join(home, 'state');
  project = path.join(home, 'api');
  fs.mkdirSync(path.join(project, '.agent-queue', 'inbox'), { recursive: true });
  env = {
    CLAUDE_FAILOVER_SESSION: 'ccl-3',
    CLAUDE_FAILOVER_ACCOUNT: 'primary',
    CLAUDE_FAILOVER_STATE_DIR: stateDir,
    CLAUDE_FAILOVER_PROJECT: project,
  };
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

describe('hook triggers', () => {
  it('a StopFailure rate_limit asks for a limit run; other errors do not', async () => {
    settings();
    await hook('StopFailure', { error: 'server_error' });
    expect(pending('limit')).toBeNull();
    await hook('StopFailure', { error: 'rate_limit', last_assistant_message: 'limit' });
    expect(pending('limit')).toMatchObject({
      kind: 'limit',
      session: 'ccl-3',
      reason: 'StopFailure rate_limit',
      at: NOW.toISOString(),
    });
  });

  it('a Stop asks for dispatch only for a task not handed out, a prompt owed or a swap waiting', async () => {
    settings();
    const inbox = path.join(project, '.agent-queue', 'inbox');
    await hook('Stop');
    expect(pending('idle')).toBeNull();
    fs.writeFileSync(path.join(inbox, 't-1.md'), 'do it');
    await hook('Stop');
    expect(pending('idle')).toMatchObject({ kind: 'idle', session: 'ccl-3', reason: 'Stop' });
    // Handed out: the agent is between the turns of its task.
    fs.writeFileSync(path.join(inbox, 't-1.md.dispatched'), '{}');
    await hook('Stop');
    expect(pending('idle')).toBeNull();
    const state = (over: Record<string, unknown>) =>
      fs.writeFileSync(path.join(stateDir, 'state.json'), JSON.stringify({ version: 1, ...over }));
    state({ sessions: { 'ccl-3': { undelivered: { task: 't-1' } } } });
    await hook('Stop');
    expect(pending('idle')).toMatchObject({ kind: 'idle' });
    state({ sessions: { 'ccl-9': { undelivered: { task: 't-1' } } } });
    await hook('Stop');
    expect(pending('idle')).toBeNull();
    state({ pendingSwap: { account: 'primary' } });
    await hook('Stop');
    expect(pending('idle')).toMatchObject({ kind: 'idle' });
  });

  it('the statusline asks once per crossing of drainAt and swapAt, again in a new window', async () => {
    settings();
    await statusline(50);
    expect(pending('limit')).toBeNull();
    await statusline(91);
    expect(pending('limit')).toMatchObject({ reason: '5h usage 91% >= drainAt 90' });
    await statusline(95);
    expect(pending('limit')).toBeNull();
    await statusline(98.2);
    expect(pending('limit')).toMatchObject({ reason: '5h usage 98% >= swapAt 98' });
    await statusline(99);
    expect(pending('limit')).toBeNull();
    // The window reset and filled up again: a new crossing.
    await statusline(99, RESET_B);
    expect(pending('limit')).toMatchObject({ reason: '5h usage 99% >= swapAt 98' });
  });

  it('does nothing without the settings, when off, or for the switched-off kind', async () => {
    fs.writeFileSync(path.join(project, '.agent-queue', 'inbox', 't-1.md'), 'do it');
    await hook('StopFailure', { error: 'rate_limit' });
    await hook('Stop');
    expect(fs.existsSync(triggersDir())).toBe(false);
    settings({ enabled: false });
    await hook('StopFailure', { error: 'rate_limit' });
    await hook('Stop');
    await statusline(99);
    expect([pending('limit'), pending('idle')]).toEqual([null, null]);
    settings({ limit: false });
    await hook('StopFailure', { error: 'rate_limit' });
    await statusline(99, RESET_B);
    await hook('Stop');
    expect([pending('limit'), pending('idle')]).toEqual([null, expect.anything()]);
  });
});
