/**
 * `claude-failover mcp` through an MCP client of the official SDK over stdio: the read tools
 * by default, the write tools only when allowed, each tool called, field-naming errors for
 * bad input (and the server still answers after them), a session's server acting only on
 * its own tasks, and no token in what comes back.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killTmuxAndWait } from './helpers/env.js';
import { connectMcp } from './helpers/mcp-client.js';
import { simSandbox, waitFor } from './helpers/sim.js';

const READ = ['status', 'task_list', 'session_list', 'quota_explain', 'events'];
const WRITE = ['task_add', 'task_done', 'task_fail', 'task_requeue', 'session_restart', 'swap'];

const sb = simSandbox({ sessions: 'ccl-{0..1}' });
afterAll(() => killTmuxAndWait(sb.tmux));
const env = { HOME: sb.home };
const queue = (folder: string) => path.join(sb.project, '.agent-queue', folder);
const ls = (folder: string) => (fs.existsSync(queue(folder)) ? fs.readdirSync(queue(folder)) : []);

describe('mcp', () => {
  it('lists only the read tools by default, and the write tools when allowed', async () => {
    const ro = await connectMcp(sb.configFile, [], env);
    expect(await ro.tools()).toEqual(READ);
    await expect(ro.call('task_add', { project: 'api', text: 'x' })).rejects.toThrow(/task_add/);
    await ro.close();

    const rw = await connectMcp(sb.configFile, ['--allow-write'], env);
    expect(await rw.tools()).toEqual([...READ, ...WRITE]);
    await rw.close();

    const allowed = path.join(sb.home, 'config-allow.yaml');
    fs.writeFileSync(
      allowed,
      `${fs.readFileSync(sb.configFile, 'utf8')}\nmcp: { allowWrite: true }\n`,
    );
    const byConfig = await connectMcp(allowed, [], env);
    expect(await byConfig.tools()).toEqual([...READ, ...WRITE]);
    await byConfig.close();
  });

  it('answers the read tools with what the commands print', async () => {
    const mcp = await connectMcp(sb.configFile, [], env);
    const status = await mcp.call('status');
    expect(status.isError, status.text).toBe(false);
    const cli = JSON.parse((await sb.cli(['status', '--json'])).stdout);
    const { now: _a, ...fromMcp } = status.data;
    const { now: _b, ...fromCli } = cli;
    expect(fromMcp).toEqual(fromCli);
    expect(JSON.parse(status.text)).toEqual(status.data);

    sb.dispatched('listed', 'ccl-1', 'list me\n');
    const list = await mcp.call('task_list', { project: 'api' });
    expect(list.data.tasks).toEqual(
      JSON.parse((await sb.cli(['task', 'list', '--json'])).stdout).tasks,
    );
    expect(JSON.stringify(list.data)).toContain('listed');

    const sessions = await mcp.call('session_list', { names: ['ccl-0'] });
    expect((sessions.data.sessions as Array<{ name: string }>).map((s) => s.name)).toEqual([
      'ccl-0',
    ]);

    const text = "You've hit your limit · resets 3pm (UTC) sk-ant-oat01-abcdefghijklmnopqrstuvwxyz";
    const verdict = await mcp.call('quota_explain', { text, now: '2026-01-01T10:00:00Z' });
    const cliVerdict = await sb.cli(
      ['quota', 'explain', '--json', '--now', '2026-01-01T10:00:00Z'],
      {
        input: text,
      },
    );
    // The classifier keeps the line; the tool redacts it, as every result is.
    expect(verdict.data).toEqual({
      ...JSON.parse(cliVerdict.stdout),
      line: expect.stringContaining('sk-ant-[REDACTED]'),
    });
    expect(verdict.data.resetsAt).toBe('2026-01-01T15:00:00.000Z');
    expect(verdict.text).not.toContain('abcdefghijklmnop');

    await sb.cli(['task', 'add', 'api', '--id', 'ev-1', '-'], { input: 'first\n' });
    await sb.cli(['task', 'add', 'api', '--id', 'ev-2', '-'], { input: 'second\n' });
    const events = await mcp.call('events', { prefix: 'task.', limit: 1 });
    expect(events.data.events).toEqual([
      expect.objectContaining({ event: 'task.added', task: 'ev-2' }),
    ]);
    sb.dispatched('ev-3', 'ccl-1', 'third\n');
    await sb.cli(['task', 'done', 'ev-3']);
    const bySession = await mcp.call('events', { session: 'ccl-1' });
    expect(bySession.data.events).toEqual([
      expect.objectContaining({ event: 'task.done', task: 'ev-3', session: 'ccl-1' }),
    ]);
    const named = await mcp.call('events', { name: 'task.added' });
    expect((named.data.events as Array<{ task: string }>).map((e) => e.task)).toEqual([
      'ev-1',
      'ev-2',
    ]);
    await mcp.close();
  });

  it('names the field of bad input in a tool error, and keeps serving', async () => {
    const mcp = await connectMcp(sb.configFile, ['--allow-write'], env);
    const bad: Array<[string, Record<string, unknown>, RegExp]> = [
      ['task_add', { project: 'api', text: 'x', priority: 'high' }, /priority: .*number/],
      ['task_add', { project: 'api' }, /text: required/],
      ['task_add', { project: 'api', text: 'x', bogus: 1 }, /unknown key 'bogus'/],
      ['task_add', { project: 'api', text: 'x', id: '../escape' }, /^id: /],
      ['task_done', {}, /id: required/],
      ['task_fail', { id: 'x' }, /reason: required/],
      ['events', { limit: 0 }, /limit: .*>=1/],
      ['session_list', { names: 'ccl-0' }, /names: .*array/],
      ['swap', { confirm: 'yes' }, /confirm: .*boolean/],
      ['session_restart', { names: [] }, /names: expected at least one session/],
      ['task_add', { project: 'nope', text: 'x' }, /^project: unknown project 'nope'/],
      ['task_done', { id: '../x' }, /^id: /],
    ];
    for (const [tool, args, message] of bad) {
      const r = await mcp.call(tool, args);
      expect(r.isError, `${tool} ${JSON.stringify(args)}`).toBe(true);
      expect(r.text).toMatch(message);
    }
    expect(ls('inbox').filter((f) => f.includes('escape'))).toEqual([]);
    expect((await mcp.call('status')).isError).toBe(false);
    await mcp.close();
  });

  it('adds, finishes and requeues tasks; a session finishes only its own', async () => {
    sb.dispatched('own', 'ccl-0', 'mine\n');
    sb.dispatched('other', 'ccl-1', 'theirs\n');
    const agent = await connectMcp(sb.configFile, ['--allow-write'], {
      ...env,
      CLAUDE_FAILOVER_SESSION: 'ccl-0',
    });
    const stolen = await agent.call('task_done', { id: 'other' });
    expect(stolen.isError).toBe(true);
    expect(stolen.text).toMatch(/^id: task 'other' was handed to session ccl-1, not to ccl-0/);
    expect(ls('inbox')).toContain('other.md');
    expect((await agent.call('task_fail', { id: 'other', reason: 'no' })).isError).toBe(true);

    const done = await agent.call('task_done', { id: 'own' });
    expect(done.data).toMatchObject({ action: 'done', task: 'own', session: 'ccl-0' });
    expect(ls('done')).toContain('own.md');
    expect(ls('inbox')).not.toContain('own.md.dispatched');
    expect((await agent.call('task_done', { id: 'own' })).data.action).toBe('already-done');
    // Each write call is on the record, with the session it came from.
    const audit = await agent.call('events', { name: 'mcp.called', limit: 4 });
    expect(audit.data.events).toEqual([
      expect.objectContaining({
        tool: 'task_done',
        session: 'ccl-0',
        error: expect.stringMatching(/ccl-1/),
      }),
      expect.objectContaining({ tool: 'task_fail', session: 'ccl-0', level: 'warn' }),
      expect.objectContaining({ tool: 'task_done', session: 'ccl-0', error: null, level: 'info' }),
      expect.objectContaining({ tool: 'task_done', session: 'ccl-0', error: null }),
    ]);

    const added = await agent.call('task_add', {
      project: 'api',
      text: '# Port the parser\n',
      priority: 5,
      id: 'port-parser',
    });
    expect(added.data).toMatchObject({ task: 'port-parser', project: 'api', priority: 5 });
    expect(fs.readFileSync(path.join(queue('inbox'), 'port-parser.md'), 'utf8')).toMatch(
      /priority: 5/,
    );
    const dup = await agent.call('task_add', { project: 'api', text: 'x', id: 'port-parser' });
    expect(dup.isError).toBe(true);
    expect(dup.text).toMatch(/^id: inbox of api already has a task 'port-parser'/);
    const restartSelf = await agent.call('session_restart', { names: ['ccl-0'] });
    expect(restartSelf.text).toMatch(/^names: ccl-0 is the session this server runs in/);
    await agent.close();

    const operator = await connectMcp(sb.configFile, ['--allow-write'], env);
    const failed = await operator.call('task_fail', { id: 'other', reason: 'too big' });
    expect(failed.data).toMatchObject({ action: 'failed', session: 'ccl-1' });
    const requeued = await operator.call('task_requeue', { id: 'other' });
    expect(requeued.data).toMatchObject({ action: 'requeued', from: 'failed' });
    expect(ls('inbox')).toContain('other.md');
    const events = await operator.call('events', { prefix: 'task.', limit: 3 });
    expect((events.data.events as Array<{ event: string }>).map((e) => e.event)).toEqual([
      'task.added',
      'task.failed',
      'task.requeued',
    ]);
    await operator.close();
  });

  it('restarts sessions, and swaps only when confirmed', { timeout: 90_000 }, async () => {
    expect((await sb.cli(['setup'])).exitCode).toBe(0);
    const start = await sb.cli(['session', 'start']);
    expect(start.exitCode, start.stderr).toBe(0);
    const mcp = await connectMcp(sb.configFile, ['--allow-write'], env);
    const restart = await mcp.call('session_restart', { names: ['ccl-1'] });
    expect(restart.isError, restart.text).toBe(false);
    expect(restart.data.started).toEqual([
      expect.objectContaining({ session: 'ccl-1', action: 'started', screen: 'ready' }),
    ]);

    const plan = await mcp.call('swap', {});
    expect(plan.data).toMatchObject({ outcome: 'dry-run', from: 'primary', to: 'backup' });
    expect(JSON.parse(fs.readFileSync(path.join(sb.stateDir, 'state.json'), 'utf8')).lastSwap).toBe(
      null,
    );
    const swap = await mcp.call('swap', { confirm: true, reason: 'test' });
    expect(swap.isError, swap.text).toBe(false);
    expect(swap.data).toMatchObject({ outcome: 'completed', from: 'primary', to: 'backup' });
    const state = JSON.parse(fs.readFileSync(path.join(sb.stateDir, 'state.json'), 'utf8'));
    expect(state.activeAccount).toBe('backup');
    expect(state.counters.swaps).toEqual({ completed: 1 });
    await mcp.close();

    // Inside a session the swap would stop the agent that runs the server: it goes to a
    // process of its own, and the call returns at once.
    const agent = await connectMcp(sb.configFile, ['--allow-write'], {
      ...env,
      CLAUDE_FAILOVER_SESSION: 'ccl-0',
    });
    const started = await agent.call('swap', { confirm: true, to: 'primary', reason: 'back' });
    expect(started.data).toMatchObject({ confirmed: true, started: true, outcome: 'started' });
    expect(started.data.pid).toEqual(expect.any(Number));
    const readState = () =>
      JSON.parse(fs.readFileSync(path.join(sb.stateDir, 'state.json'), 'utf8'));
    await waitFor(
      () => readState().lastSwap?.to === 'primary' && readState().lastSwap,
      'the detached swap to finish',
      60_000,
    );
    expect(readState().lastSwap).toMatchObject({ from: 'backup', reason: 'back' });
    expect(readState().counters.swaps.completed).toBe(2);
    await agent.close();
  });

  it('starts without a config, and says in each call where it looked', async () => {
    const mcp = await connectMcp(path.join(sb.home, 'missing.yaml'), [], env);
    expect(await mcp.tools()).toEqual(READ);
    const r = await mcp.call('status');
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/missing\.yaml/);
    await mcp.close();
  });
});
