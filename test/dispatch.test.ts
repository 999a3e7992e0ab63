/**
 * `dispatch`: what it skips, the order, pins, idleness and accounts (dry runs against tmux
 * panes that run `sleep`, with status.json written by hand), then real hand-outs to the
 * simulated agent: the agent finishes each task with `claude-failover task done`, hostile
 * file names stay data, bad input fails alone, and a prompt that cannot be delivered leaves
 * the task in the queue.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAgentStatus } from '../src/lib/queue/status-file.js';
import { deliverTaskPrompt } from '../src/lib/dispatch/delivery.js';
import type { DispatchReport } from '../src/lib/dispatch/report.js';
import { readEvents } from '../src/lib/core/events.js';
import { isSessionIdle } from '../src/lib/agents/idle.js';
import { renderPrompt } from '../src/lib/dispatch/prompt.js';
import { simSandbox, waitFor, type SimSandbox } from './helpers/sim.js';

const q = (project: string, folder = 'inbox') => path.join(project, '.agent-queue', folder);

/** Writes a task file, `ageMs` old (old enough to be past dispatch.settle by default). */
function writeTask(project: string, name: string, text: string | Buffer, ageMs = 60_000): string {
  fs.mkdirSync(q(project), { recursive: true });
  const file = path.join(q(project), name);
  fs.writeFileSync(file, text);
  const t = new Date(Date.now() - ageMs);
  fs.utimesSync(file, t, t);
  return file;
}

function writeStatus(project: string, sessions: Record<string, 'idle' | 'working'>): void {
  fs.mkdirSync(path.join(project, '.agent-queue'), { recursive: true });
  const entries = Object.fromEntries(
    Object.entries(sessions).map(([name, state]) => [
      name,
      { state, task: null, claudeSessionId: null, updatedAt: new Date().toISOString() },
    ]),
  );
  fs.writeFileSync(
    path.join(project, '.agent-queue', 'status.json'),
    JSON.stringify({ sessions: entries }),
  );
}

/** Sessions whose pane runs `sleep`: alive, and idle by the status.json written here. */
async function fakeAgents(sb: SimSandbox, names: string[], project = sb.project): Promise<void> {
  for (const name of names)
    await sb.tmux.run(['new-session', '-d', '-s', name, '-c', project, 'sleep', '600']);
}

async function dispatch(sb: SimSandbox, args: string[] = []): Promise<DispatchReport> {
  const r = await sb.cli(['dispatch', '--json', ...args]);
  expect([0, 1], r.stderr).toContain(r.exitCode);
  return JSON.parse(r.stdout) as DispatchReport;
}

const pairs = (r: DispatchReport) => r.assignments.map((a) => [a.session, a.task]);
const reasonOf = (r: DispatchReport, task: string | null, file?: string) =>
  r.skipped.find((s) => (task === null ? s.file === file : s.task === task))?.reason;

function snapshot(sb: SimSandbox): string {
  const list = (dir: string): string[] =>
    fs.existsSync(dir)
      ? fs
          .readdirSync(dir, { withFileTypes: true })
          .flatMap((d) =>
            d.isDirectory()
              ? list(path.join(dir, d.name))
              : [`${path.join(dir, d.name)}:${fs.readFileSync(path.join(dir, d.name), 'utf8')}`],
          )
      : [];
  const events = fs.existsSync(path.join(sb.stateDir, 'events.jsonl'))
    ? fs.readFileSync(path.join(sb.stateDir, 'events.jsonl'), 'utf8')
    : '';
  return JSON.stringify([list(path.join(sb.project, '.agent-queue')).sort(), events]);
}

describe('dispatch: what goes where (dry runs)', () => {
  it('skips hidden, non-.md, settling and dispatched files, orders by priority then name, and a dry run changes nothing', async () => {
    const sb = simSandbox({ sessions: 'ccl-{0..2}' });
    await fakeAgents(sb, ['ccl-0', 'ccl-1', 'ccl-2']);
    writeStatus(sb.project, { 'ccl-0': 'idle', 'ccl-1': 'idle', 'ccl-2': 'idle' });
    writeTask(sb.project, 'b.md', 'task b\n');
    writeTask(sb.project, 'a.md', 'task a\n');
    writeTask(sb.project, 'c.md', '---\npriority: 5\n---\ntask c\n');
    writeTask(sb.project, 'd.md', '---\npriority: -1\n---\ntask d\n');
    writeTask(sb.project, 'B.md', 'upper-case B sorts before a\n');
    writeTask(sb.project, '.hidden.md', 'not a task\n');
    writeTask(sb.project, 'notes.txt', 'not a task\n');
    writeTask(sb.project, 'fresh.md', 'still being written\n', 0);
    writeTask(sb.project, 'e.md', 'handed out\n');
    fs.writeFileSync(
      path.join(q(sb.project), 'e.md.dispatched'),
      JSON.stringify({
        session: 'ccl-2',
        account: 'primary',
        dispatchedAt: new Date().toISOString(),
        attempt: 1,
      }),
    );
    const before = snapshot(sb);
    const r = await dispatch(sb, ['--dry-run']);
    expect(r.dryRun).toBe(true);
    // Sessions in config order each take the first task: priority 5, then B before a (code
    // points, not the locale).
    expect(pairs(r)).toEqual([
      ['ccl-0', 'c'],
      ['ccl-1', 'B'],
    ]);
    expect(r.assignments[0]).toMatchObject({ project: 'api', account: 'primary', attempt: 1 });
    expect(r.sessions.find((s) => s.session === 'ccl-2')).toMatchObject({
      idle: false,
      reason: 'holds task e',
    });
    expect(reasonOf(r, 'a')).toBe('no idle session left in this run');
    expect(reasonOf(r, 'd')).toBe('no idle session left in this run');
    expect(reasonOf(r, 'fresh')).toMatch(/^settling/);
    expect(reasonOf(r, 'e')).toBe('already dispatched to ccl-2');
    expect(reasonOf(r, null, '.hidden.md')).toBe('hidden file');
    expect(reasonOf(r, null, 'notes.txt')).toBe('not a .md file');
    // The order of what is left: a, then b, then d (priority -1).
    const waiting = r.skipped.filter((s) => /no idle/.test(s.reason)).map((s) => s.task);
    expect(waiting).toEqual(['a', 'b', 'd']);
    // Nothing changed: no marker, no status, no event, no move.
    expect(snapshot(sb)).toBe(before);

    // The human form says the same in one line per hand-out.
    const text = await sb.cli(['dispatch', '--dry-run']);
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toContain('would dispatch api/c -> ccl-0 (primary, attempt 1)');
    expect(snapshot(sb)).toBe(before);
  });

  it('keeps a pinned task for its session, and the others go on', async () => {
    const sb = simSandbox({ sessions: 'ccl-{0..1}' });
    await fakeAgents(sb, ['ccl-0', 'ccl-1']);
    writeStatus(sb.project, { 'ccl-0': 'idle', 'ccl-1': 'working' });
    writeTask(sb.project, 'pinned.md', '---\npriority: 9\nsession: ccl-1\n---\nfor ccl-1 only\n');
    writeTask(sb.project, 'other.md', 'anyone\n');
    let r = await dispatch(sb, ['--dry-run']);
    expect(pairs(r)).toEqual([['ccl-0', 'other']]);
    expect(reasonOf(r, 'pinned')).toBe('pinned to ccl-1, which is not idle: working (hooks)');

    writeStatus(sb.project, { 'ccl-0': 'idle', 'ccl-1': 'idle' });
    r = await dispatch(sb, ['--dry-run']);
    expect(pairs(r)).toEqual([
      ['ccl-0', 'other'],
      ['ccl-1', 'pinned'],
    ]);
  });

  it('gives work only to sessions whose account takes it: not exhausted, draining or mid-swap', async () => {
    const sb = simSandbox({ sessions: 'ccl-{0..1}' });
    await fakeAgents(sb, ['ccl-0', 'ccl-1']);
    writeStatus(sb.project, { 'ccl-0': 'idle', 'ccl-1': 'idle' });
    writeTask(sb.project, 'one.md', 'one\n');
    writeTask(sb.project, 'two.md', 'two\n');
    const ctx = await sb.ctx();
    const future = new Date(Date.now() + 3_600_000).toISOString();
    // ccl-1 was moved to the backup account; ccl-0 is on the active (primary) one.
    await ctx.state.update((st) => {
      st.activeAccount = 'primary';
      st.sessions['ccl-1'] = { ...(st.sessions['ccl-1'] ?? {}), account: 'backup' } as never;
    });

    await ctx.state.update((st) => {
      st.accounts.primary = {
        exhaustedUntil: future,
        exhaustedReason: 'limit',
        authErrorAt: null,
        usage: null,
      };
    });
    let r = await dispatch(sb, ['--dry-run']);
    expect(pairs(r)).toEqual([['ccl-1', 'one']]);
    expect(r.sessions.find((s) => s.session === 'ccl-0')?.reason).toBe(
      `account primary is exhausted until ${future}`,
    );
    // Swap's "idle moment" asks about the agent alone.
    const state = ctx.state.read();
    expect(await isSessionIdle(ctx, state, new Date(), 'ccl-0')).toMatchObject({ idle: false });
    expect(
      await isSessionIdle(ctx, state, new Date(), 'ccl-0', { accountCheck: false }),
    ).toMatchObject({ idle: true, source: 'hooks', account: 'primary' });

    // Draining: its statusline usage is past quota.drainAt (90%).
    await ctx.state.update((st) => {
      delete st.accounts.primary;
    });
    fs.mkdirSync(path.join(sb.stateDir, 'usage'), { recursive: true });
    fs.writeFileSync(
      path.join(sb.stateDir, 'usage', 'backup.json'),
      JSON.stringify({
        fiveHour: { usedPercentage: 93, resetsAt: future },
        sevenDay: null,
        updatedAt: new Date().toISOString(),
        session: 'ccl-1',
      }),
    );
    r = await dispatch(sb, ['--dry-run']);
    expect(pairs(r)).toEqual([['ccl-0', 'one']]);
    expect(r.sessions.find((s) => s.session === 'ccl-1')?.reason).toMatch(
      /^account backup is draining \(usage 93%/,
    );

    // Mid-swap: a swap journal moving primary's sessions is open.
    await ctx.state.update((st) => {
      st.swapJournal = {
        id: 'x',
        from: 'primary',
        to: 'backup',
        reason: 'test',
        trigger: null,
        startedAt: new Date().toISOString(),
        pid: process.pid,
        step: 'stopped',
        tried: [],
        sessions: [],
      };
    });
    r = await dispatch(sb, ['--dry-run']);
    expect(pairs(r)).toEqual([]);
    expect(r.sessions.map((s) => s.reason)).toEqual([
      'account primary is in the middle of a swap',
      'account backup is in the middle of a swap',
    ]);
    expect(reasonOf(r, 'one')).toBe('no idle session');
  });

  it('never counts a dead pane, a missing session or a stopped one as idle', async () => {
    const sb = simSandbox({ sessions: 'ccl-{0..2}' });
    await fakeAgents(sb, ['ccl-0', 'ccl-2']);
    writeStatus(sb.project, { 'ccl-0': 'idle', 'ccl-1': 'idle', 'ccl-2': 'idle' });
    writeTask(sb.project, 't.md', 'x\n');
    await sb.tmux.run(['set-option', '-w', '-t', '=ccl-0:', 'remain-on-exit', 'on']);
    const pane = (await sb.tmux.sessions()).get('ccl-0')!;
    process.kill(pane.pid!, 'SIGKILL');
    await waitFor(async () => (await sb.tmux.sessions()).get('ccl-0')?.dead, 'a dead pane');
    const ctx = await sb.ctx();
    await ctx.state.update((st) => {
      st.sessions['ccl-2'] = { ...(st.sessions['ccl-2'] ?? {}), stopped: true } as never;
    });
    const r = await dispatch(sb, ['--dry-run']);
    expect(pairs(r)).toEqual([]);
    expect(r.sessions.map((s) => [s.session, s.reason])).toEqual([
      ['ccl-0', 'its agent exited (dead pane)'],
      ['ccl-1', 'no tmux session'],
      ['ccl-2', 'stopped by the operator'],
    ]);
    // And delivery itself refuses a dead pane, which tmux would accept keys for.
    const session = ctx.config.sessions.find((s) => s.name === 'ccl-0')!;
    expect(
      await deliverTaskPrompt(ctx, session, 'primary', 'Read the task in /x.md and carry it out.'),
    ).toEqual({ ok: false, reason: 'its agent is not running', typed: false, steps: [] });
  });
});

/** Starts the sandbox's sessions (with hooks unless told otherwise) and waits until idle. */
async function startAgents(sb: SimSandbox, names: string[], hooks = true): Promise<void> {
  if (hooks) expect((await sb.cli(['setup'])).exitCode).toBe(0);
  const r = await sb.cli(['session', 'start']);
  expect(r.exitCode, r.stderr).toBe(0);
  for (const n of names) await sb.waitForPane(n, /^❯/m);
  if (hooks)
    await waitFor(
      () => names.every((n) => readAgentStatus(sb.project).sessions[n]?.state === 'idle'),
      'idle sessions',
    );
}

const markers = (project: string) =>
  fs.existsSync(q(project))
    ? fs.readdirSync(q(project)).filter((n) => n.endsWith('.dispatched'))
    : [];

describe('dispatch: hand-outs to the simulated agent', () => {
  it('hands out in order, the agent finishes with task done, and the session gets the next one', async () => {
    const sb = simSandbox({
      sessions: 'ccl-{0..1}',
      agentEnv: { SIM_TURN_MS: '100' },
    });
    await startAgents(sb, ['ccl-0', 'ccl-1']);
    writeTask(sb.project, 'a.md', 'sim-work: 6s\nTask a.\n');
    writeTask(sb.project, 'b.md', 'sim-work: 50ms\nTask b.\n');
    writeTask(sb.project, 'c.md', '---\npriority: 5\n---\nsim-work: 6s\nTask c.\n');

    const r = await dispatch(sb);
    expect(r.errors).toEqual([]);
    expect(
      pairs(r)
        .map((p) => p[1])
        .sort(),
    ).toEqual(['a', 'c']);
    expect(reasonOf(r, 'b')).toBe('no idle session left in this run');
    // The marker is there (its documented shape) and the sessions are working on their tasks.
    const cSession = r.assignments.find((a) => a.task === 'c')!.session;
    const marker = JSON.parse(fs.readFileSync(path.join(q(sb.project), 'c.md.dispatched'), 'utf8'));
    expect(marker).toEqual({
      session: cSession,
      account: 'primary',
      dispatchedAt: expect.any(String),
      attempt: 1,
    });
    expect(readAgentStatus(sb.project).sessions[cSession]).toMatchObject({ task: 'c' });
    // The prompt reached the agent literally.
    await sb.waitForPane(cSession, /task done -- c/);
    // Nothing is idle now: a second dispatch hands out nothing and says why.
    const busy = await dispatch(sb);
    expect(busy.assignments).toEqual([]);

    // The agents finish: done/, no marker, idle, with events.
    await waitFor(
      () =>
        fs.existsSync(path.join(q(sb.project, 'done'), 'c.md')) && markers(sb.project).length === 0,
      'a and c done',
      20_000,
    );
    expect(fs.readdirSync(q(sb.project, 'done')).sort()).toEqual(['a.md', 'c.md']);
    await waitFor(
      () =>
        ['ccl-0', 'ccl-1'].every((n) => readAgentStatus(sb.project).sessions[n]?.state === 'idle'),
      'idle again',
    );
    expect(readAgentStatus(sb.project).sessions[cSession]?.task).toBeNull();
    const again = await dispatch(sb);
    expect(pairs(again).map((p) => p[1])).toEqual(['b']);
    await waitFor(
      () =>
        fs.existsSync(path.join(q(sb.project, 'done'), 'b.md')) && markers(sb.project).length === 0,
      'b done, its marker gone',
      20_000,
    );
    const events = readEvents(sb.stateDir);
    expect(events.filter((e) => e.event === 'task.dispatched').map((e) => e.task)).toHaveLength(3);
    expect(events.find((e) => e.event === 'task.done' && e.task === 'c')).toMatchObject({
      session: cSession,
      account: 'primary',
      attempt: 1,
    });
    expect(fs.readdirSync(q(sb.project))).toEqual([]);
  });

  it('creates the marker before the prompt goes in; a prompt Claude Code never confirms stays in flight and the next run delivers it', async () => {
    // Every Enter is lost while sim/deaf exists: the prompt stays in the input box.
    const sb = simSandbox({
      sessions: 'ccl-0',
      agentEnv: { SIM_TURN_MS: '50' },
      confirmTimeout: '1s',
    });
    await startAgents(sb, ['ccl-0']);
    const deaf = path.join(sb.accountDir('primary'), 'sim', 'deaf');
    fs.mkdirSync(path.dirname(deaf), { recursive: true });
    fs.writeFileSync(deaf, '');
    writeTask(sb.project, 'stuck.md', 'sim-work: 50ms\nx\n');
    const run = sb.cli(['dispatch', '--json']);
    let sawMarker = false;
    let sawPrompt = false;
    const watch = (async () => {
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && !(sawMarker && sawPrompt)) {
        if (fs.existsSync(path.join(q(sb.project), 'stuck.md.dispatched'))) {
          sawMarker = true;
          // The prompt is typed only once the marker is there.
          if ((await sb.pane('ccl-0')).includes('task done -- stuck')) sawPrompt = true;
        } else expect(sawPrompt).toBe(false);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const r = await run;
    await watch;
    expect(r.exitCode, r.stderr).toBe(1);
    expect(sawMarker && sawPrompt).toBe(true);
    const report = JSON.parse(r.stdout) as DispatchReport;
    expect(report.assignments).toEqual([]);
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]).toMatchObject({
      task: 'stuck',
      project: 'api',
      session: 'ccl-0',
      owed: true,
    });
    expect(report.errors[0]!.reason).toMatch(/did not confirm the prompt.*enter-again, repaste/);
    // Still in flight with this session: the marker stays, and the state owes the prompt.
    expect(fs.readdirSync(q(sb.project)).sort()).toEqual(['stuck.md', 'stuck.md.dispatched']);
    const ctx = await sb.ctx();
    expect(ctx.state.read().sessions['ccl-0']?.undelivered).toMatchObject({
      task: 'stuck',
      project: 'api',
      prompt: 'dispatch',
      by: 'dispatch',
      tries: 1,
    });
    // The stuck text was cleared from the input box, so it cannot be sent later.
    expect((await sb.pane('ccl-0')).split('\n').at(-1)).toMatch(/^❯\s*$/);
    let events = readEvents(sb.stateDir).map((e) => [e.event, e.task]);
    expect(events).toContainEqual(['task.dispatched', 'stuck']);
    expect(events).toContainEqual(['task.undelivered', 'stuck']);

    // The agent takes input again: the next run delivers the owed prompt, no new hand-out.
    fs.rmSync(deaf);
    const again = await dispatch(sb);
    expect(again.errors).toEqual([]);
    expect(again.redelivered).toEqual([
      {
        task: 'stuck',
        project: 'api',
        session: 'ccl-0',
        prompt: 'dispatch',
        outcome: 'delivered',
        reason: null,
      },
    ]);
    // `task done` moves the task, then removes its marker: wait for both.
    await waitFor(
      () =>
        fs.existsSync(path.join(q(sb.project, 'done'), 'stuck.md')) &&
        markers(sb.project).length === 0,
      'stuck done, its marker gone',
      20_000,
    );
    expect(ctx.state.read().sessions['ccl-0']?.undelivered).toBeNull();
    events = readEvents(sb.stateDir).map((e) => [e.event, e.task]);
    expect(events.filter(([e]) => e === 'task.dispatched')).toHaveLength(1);
    expect(events.filter(([e]) => e === 'task.done')).toHaveLength(1);
    expect(readEvents(sb.stateDir).find((e) => e.event === 'task.delivered')).toMatchObject({
      task: 'stuck',
      confirmedBy: expect.stringMatching(/^(hook|transcript)$/),
      retried: true,
    });
  });

  it('without hooks, the transcript confirms the prompt', async () => {
    const sb = simSandbox({ sessions: 'ccl-0', agentEnv: { SIM_TURN_MS: '50', SIM_HOOKS: '0' } });
    await startAgents(sb, ['ccl-0'], false);
    writeTask(sb.project, 't.md', 'sim-work: 50ms\nx\n');
    const r = await dispatch(sb);
    expect(r.errors).toEqual([]);
    expect(pairs(r)).toEqual([['ccl-0', 't']]);
    expect(readEvents(sb.stateDir).find((e) => e.event === 'task.delivered')).toMatchObject({
      task: 't',
      confirmedBy: 'transcript',
    });
    await waitFor(() => fs.existsSync(path.join(q(sb.project, 'done'), 't.md')), 't done', 20_000);
  });

  it('checks the whole file at hand-out: a task that turned invalid since its scan fails there', async () => {
    const sb = simSandbox({ sessions: 'ccl-0', agentEnv: { SIM_TURN_MS: '50' } });
    await startAgents(sb, ['ccl-0']);
    const file = writeTask(sb.project, 'a.md', 'sim-work: 50ms\nfine\n');
    writeTask(sb.project, 'b.md', 'sim-work: 50ms\nfine too\n');
    // A dry run caches what the scan learnt about a.md.
    expect(pairs(await dispatch(sb, ['--dry-run']))).toEqual([['ccl-0', 'a']]);
    // Rewritten with the same size, mtime and inode: the cache cannot tell.
    const st = fs.statSync(file);
    const bad = Buffer.from('sim-work: 50ms\nfine\n');
    bad[bad.length - 2] = 0xff;
    fs.writeFileSync(file, bad);
    fs.utimesSync(file, st.atime, st.mtime);
    const r = await dispatch(sb);
    expect(r.failed.map((f) => [f.task, f.reason])).toEqual([['a', 'not valid UTF-8 text']]);
    // The session took the next task instead.
    expect(pairs(r)).toEqual([['ccl-0', 'b']]);
    await waitFor(() => fs.existsSync(path.join(q(sb.project, 'done'), 'b.md')), 'b done', 20_000);
  });

  it('renders the prompt with every value as one shell word', () => {
    const prompt = renderPrompt(
      'Read the task in {taskPath} and carry it out. When it is finished, run: claude-failover task done -- {taskId}',
      { taskPath: "/q/inbox/it's $(x).md", taskId: "it's $(x)", project: 'api', session: 'ccl-0' },
    );
    expect(prompt).toBe(
      "Read the task in '/q/inbox/it'\\''s $(x).md' and carry it out. When it is finished, run: claude-failover task done -- 'it'\\''s $(x)'",
    );
    expect(
      renderPrompt('{taskId}', { taskPath: '', taskId: 'a\nb', project: 'p', session: 's' }),
    ).toBe("$'a\\nb'");
  });
});
