/** `janitor`: every rule on real files, at a fixed clock, with real tmux for the live case. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { deliverPrompt } from './helpers/type-prompt.js';
import { readAgentStatus } from '../src/lib/queue/status-file.js';
import { readEvents } from '../src/lib/core/events.js';
import { runJanitor } from '../src/lib/schedule/janitor.js';
import { updateAgentStatus } from '../src/lib/claude/signals.js';
import { simSandbox, waitFor, type SimSandbox } from './helpers/sim.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const clock = { now: () => NOW };
const ago = (ms: number) => new Date(NOW.getTime() - ms);
const H = 3_600_000;

function queue(sb: SimSandbox, folder: string) {
  const dir = path.join(sb.project, '.agent-queue', folder);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function dispatched(sb: SimSandbox, id: string, session: string, at: Date, attempt = 1) {
  fs.writeFileSync(path.join(queue(sb, 'inbox'), `${id}.md`), `# ${id}\n`);
  fs.writeFileSync(
    path.join(queue(sb, 'inbox'), `${id}.md.dispatched`),
    JSON.stringify({ session, account: 'primary', dispatchedAt: at.toISOString(), attempt }),
  );
}

const ls = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);

describe('janitor', () => {
  it('requeues a stale marker of a dead session, raising its attempt count; fails it past maxAttempts', async () => {
    const sb = simSandbox({ sessions: 'ccl-{0..1}', extra: 'dispatch: { maxAttempts: 2 }' });
    dispatched(sb, 'old-dead', 'ccl-0', ago(3 * H));
    dispatched(sb, 'fresh', 'ccl-1', ago(0.5 * H));
    const ctx = await sb.ctx(clock);

    const dry = await runJanitor(ctx, { dryRun: true });
    expect(dry.actions).toEqual([
      expect.objectContaining({ kind: 'requeue', target: 'old-dead', session: 'ccl-0' }),
    ]);
    expect(ls(queue(sb, 'inbox'))).toContain('old-dead.md.dispatched');

    const r = await runJanitor(ctx);
    expect(r.actions.map((a) => [a.kind, a.target])).toEqual([['requeue', 'old-dead']]);
    expect(ls(queue(sb, 'inbox'))).toEqual(['fresh.md', 'fresh.md.dispatched', 'old-dead.md']);
    expect(readEvents(sb.stateDir)).toContainEqual(
      expect.objectContaining({ task: 'old-dead', by: 'janitor' }),
    );

    // Handed out again and stale again: attempt 2 of 2 is the last; it goes to failed/.
    fs.writeFileSync(
      path.join(queue(sb, 'inbox'), 'old-dead.md.dispatched'),
      JSON.stringify({
        session: 'ccl-0',
        account: 'primary',
        dispatchedAt: ago(3 * H).toISOString(),
        attempt: 2,
      }),
    );
    const again = await runJanitor(ctx);
    expect(again.actions.map((a) => [a.kind, a.target])).toEqual([['fail', 'old-dead']]);
    expect(ls(queue(sb, 'failed'))).toEqual(['old-dead.error.txt', 'old-dead.md']);
    expect(fs.readFileSync(path.join(queue(sb, 'failed'), 'old-dead.error.txt'), 'utf8')).toMatch(
      /stale dispatch marker/,
    );
  });

  it('leaves alone a marker whose session is alive and still working on it, however old', async () => {
    const sb = simSandbox({ sessions: 'ccl-0' });
    await sb.cli(['setup']);
    await sb.cli(['session', 'start']);
    await waitFor(() => readAgentStatus(sb.project).sessions['ccl-0']?.claudeSessionId, 'ready');
    dispatched(sb, 'long-job', 'ccl-0', ago(30 * 24 * H));
    expect(await deliverPrompt(sb.tmux, 'ccl-0', '/sim sleep 30000')).toBe(true);
    await waitFor(
      () => readAgentStatus(sb.project).sessions['ccl-0']?.state === 'working',
      'working',
    );
    await updateAgentStatus(sb.project, 'ccl-0', (e) => (e ? { ...e, task: 'long-job' } : null));
    const r = await runJanitor(await sb.ctx(clock));
    expect(r.actions).toEqual([]);
    expect(ls(queue(sb, 'inbox'))).toEqual(['long-job.md', 'long-job.md.dispatched']);

    // The same agent, idle (its turn ended without `task done`): the marker is stale now.
    await updateAgentStatus(sb.project, 'ccl-0', (e) => (e ? { ...e, state: 'idle' } : null));
    const r2 = await runJanitor(await sb.ctx(clock));
    expect(r2.actions.map((a) => [a.kind, a.target])).toEqual([['requeue', 'long-job']]);
  });

  it('archives old done tasks by month, never overwriting', async () => {
    const sb = simSandbox({ sessions: 'ccl-0', extra: 'janitor: { archiveDoneAfter: 7d }' });
    const done = queue(sb, 'done');
    for (const [name, age] of [
      ['a.md', 10 * 24 * H],
      ['b.md', 2 * 24 * H],
      ['c.md', 40 * 24 * H],
    ] as const) {
      fs.writeFileSync(path.join(done, name), name);
      const t = ago(age);
      fs.utimesSync(path.join(done, name), t, t);
    }
    // An archived `a.md` of the same month exists already: kept, the new one gets a suffix.
    const month = ago(10 * 24 * H)
      .toISOString()
      .slice(0, 7);
    fs.mkdirSync(path.join(sb.project, '.agent-queue', 'archive', month), { recursive: true });
    fs.writeFileSync(path.join(sb.project, '.agent-queue', 'archive', month, 'a.md'), 'older a');
    const r = await runJanitor(await sb.ctx(clock));
    expect(
      r.actions
        .filter((a) => a.kind === 'archive')
        .map((a) => a.target)
        .sort(),
    ).toEqual(['a.md', 'c.md']);
    expect(ls(done)).toEqual(['b.md']);
    const archive = path.join(sb.project, '.agent-queue', 'archive');
    expect(ls(path.join(archive, month))).toEqual(['a.1.md', 'a.md']);
    expect(fs.readFileSync(path.join(archive, month, 'a.md'), 'utf8')).toBe('older a');
    expect(
      ls(
        path.join(
          archive,
          ago(40 * 24 * H)
            .toISOString()
            .slice(0, 7),
        ),
      ),
    ).toEqual(['c.md']);
  });

  it('prunes checkpoints past keep or maxAge and always keeps latest.json', async () => {
    const sb = simSandbox({ sessions: 'ccl-0', extra: 'checkpoint: { keep: 3, maxAge: 2d }' });
    const dir = path.join(sb.stateDir, 'checkpoints', 'ccl-0');
    fs.mkdirSync(dir, { recursive: true });
    const names: string[] = [];
    for (const hours of [100, 30, 5, 4, 3, 2, 1]) {
      const name = `${ago(hours * H)
        .toISOString()
        .replace(/:/g, '-')}.json`;
      names.push(name);
      fs.writeFileSync(path.join(dir, name), '{}');
    }
    fs.writeFileSync(path.join(dir, 'latest.json'), '{}');
    const r = await runJanitor(await sb.ctx(clock));
    expect(r.actions.filter((a) => a.kind === 'prune-checkpoint')).toHaveLength(4);
    expect(ls(dir)).toEqual([...names.slice(-3), 'latest.json'].sort());
  });

  it('rotates events.jsonl past eventsMaxBytes keeping 3 generations, and caps the swap history', async () => {
    const sb = simSandbox({
      sessions: 'ccl-0',
      extra: 'janitor: { eventsMaxBytes: 2KB }\nswap: { historyMax: 3 }',
    });
    const ctx = await sb.ctx(clock);
    fs.mkdirSync(sb.stateDir, { recursive: true });
    const events = path.join(sb.stateDir, 'events.jsonl');
    for (let gen = 1; gen <= 4; gen++) {
      fs.writeFileSync(
        events,
        `${JSON.stringify({ ts: NOW.toISOString(), event: `gen${gen}`, level: 'info', pad: 'x'.repeat(3000) })}\n`,
      );
      await runJanitor(ctx);
    }
    expect(ls(sb.stateDir).filter((n) => n.startsWith('events.jsonl'))).toEqual([
      'events.jsonl',
      'events.jsonl.1',
      'events.jsonl.2',
      'events.jsonl.3',
    ]);
    expect(fs.readFileSync(`${events}.1`, 'utf8')).toContain('gen4');
    expect(fs.readFileSync(`${events}.3`, 'utf8')).toContain('gen2');
    // The current file starts with the rotation's own event.
    expect(fs.readFileSync(events, 'utf8')).toContain('janitor.rotate-log');

    await ctx.state.update((st) => {
      for (let i = 0; i < 5; i++)
        st.swaps.push({
          from: 'primary',
          to: 'backup',
          at: ago(i * H).toISOString(),
          reason: `r${i}`,
          trigger: null,
          sessions: [],
          durationMs: 1,
          outcome: 'completed',
        });
    });
    const r = await runJanitor(ctx);
    expect(r.actions).toContainEqual(expect.objectContaining({ kind: 'cap-swaps' }));
    expect(ctx.state.read().swaps.map((s) => s.reason)).toEqual(['r2', 'r3', 'r4']);
  });

  it('removes temp files a killed writer left in stateDir, once they are an hour old', async () => {
    const sb = simSandbox({ sessions: 'ccl-0' });
    fs.mkdirSync(sb.stateDir, { recursive: true });
    const old = path.join(sb.stateDir, '.state.json.tmp-4242-deadbeef');
    const fresh = path.join(sb.stateDir, '.state.json.tmp-4243-cafef00d');
    fs.writeFileSync(old, '{');
    fs.writeFileSync(fresh, '{');
    fs.utimesSync(old, ago(2 * H), ago(2 * H));
    fs.utimesSync(fresh, NOW, NOW);
    const r = await runJanitor(await sb.ctx(clock));
    expect(r.actions.filter((a) => a.kind === 'remove-temp').map((a) => a.target)).toEqual([old]);
    expect(fs.existsSync(old)).toBe(false);
    expect(fs.existsSync(fresh)).toBe(true);
  });

  it('--dry-run lists the actions and does none of them; the CLI exits 0', async () => {
    const sb = simSandbox({ sessions: 'ccl-0', extra: 'janitor: { archiveDoneAfter: 1d }' });
    fs.writeFileSync(path.join(queue(sb, 'done'), 'old.md'), 'x');
    const t = new Date(Date.now() - 3 * 24 * H);
    fs.utimesSync(path.join(queue(sb, 'done'), 'old.md'), t, t);
    const r = await sb.cli(['janitor', '--dry-run', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      dryRun: true,
      actions: [{ kind: 'archive', target: 'old.md' }],
    });
    expect(ls(queue(sb, 'done'))).toEqual(['old.md']);
    const real = await sb.cli(['janitor']);
    expect(real.exitCode).toBe(0);
    expect(real.stdout).toMatch(/archive: api\/old\.md/);
    expect(ls(queue(sb, 'done'))).toEqual([]);
    expect(readEvents(sb.stateDir).filter((e) => e.event === 'janitor.archive')).toHaveLength(1);
  });
});
