/**
 * `task add|list|done|fail|requeue` through the built CLI (and `requeueTask`, the janitor's
 * entry point, in-process): atomic and exclusive adds, ids as hostile data, the session from
 * $CLAUDE_FAILOVER_SESSION, idempotent done/fail, no overwrite, attempts up to maxAttempts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/lib/core/config-parse.js';
import { contextFromConfig } from '../src/lib/core/context.js';
import { readEvents } from '../src/lib/core/events.js';
import { Output } from '../src/lib/core/output.js';
import { readTaskAttempts } from '../src/lib/queue/files.js';
import { requeueTask } from '../src/lib/tasks/requeue.js';
import { runCli, tempDir } from './helpers/env.js';

function sandbox(extra = '') {
  const home = tempDir('cf-task-');
  const api = path.join(home, 'src', 'api');
  const web = path.join(home, 'src', 'web');
  fs.mkdirSync(api, { recursive: true });
  fs.mkdirSync(web, { recursive: true });
  const yaml = `stateDir: ${home}/state
sharedProjectsDir: ${home}/shared/projects
accounts:
  - { name: primary, configDir: ${home}/accounts/primary, priority: 1 }
projects:
  - { name: api, path: ${api} }
  - { name: web, path: ${web} }
sessions:
  - { name: 'ccl-{0..1}', project: api }
  - { name: w-0, project: web }
dispatch: { settle: 0s, maxAttempts: 2 }
lock: { waitFor: 5s, staleAfter: 3s }
${extra}`;
  const configFile = path.join(home, 'config.yaml');
  fs.writeFileSync(configFile, yaml);
  return {
    home,
    api,
    web,
    stateDir: path.join(home, 'state'),
    cli: (args: string[], o: { env?: Record<string, string>; input?: string } = {}) =>
      runCli(['-c', configFile, ...args], { home, env: o.env, input: o.input }),
    ctx: async () =>
      contextFromConfig(await parseConfigText(yaml, configFile), {
        out: new Output({ quiet: true }),
        env: { HOME: home },
      }),
  };
}
type Sandbox = ReturnType<typeof sandbox>;

const dir = (project: string, folder: string) => path.join(project, '.agent-queue', folder);
const ls = (project: string, folder: string) =>
  fs.existsSync(dir(project, folder)) ? fs.readdirSync(dir(project, folder)).sort() : [];

function put(project: string, folder: string, name: string, text = 'do it\n'): string {
  fs.mkdirSync(dir(project, folder), { recursive: true });
  const file = path.join(dir(project, folder), name);
  fs.writeFileSync(file, text);
  return file;
}

function mark(project: string, id: string, session: string, attempt = 1): void {
  put(
    project,
    'inbox',
    `${id}.md.dispatched`,
    JSON.stringify({
      session,
      account: 'primary',
      dispatchedAt: new Date().toISOString(),
      attempt,
    }),
  );
}

function status(project: string): Record<string, { state: string; task: string | null }> {
  const file = path.join(project, '.agent-queue', 'status.json');
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')).sessions : {};
}

async function ok(
  sb: Sandbox,
  args: string[],
  o?: { env?: Record<string, string>; input?: string },
) {
  const r = await sb.cli(args, o);
  expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r;
}

describe('task add', () => {
  it('queues from a file, from stdin and with flags, atomically and without clobbering', async () => {
    const sb = sandbox();
    const src = path.join(sb.home, 'Fix Login.md');
    fs.writeFileSync(src, '# Fix the login\n');
    const a = JSON.parse((await ok(sb, ['task', 'add', 'api', src, '--json'])).stdout);
    expect(a).toEqual({
      task: 'Fix Login',
      project: 'api',
      path: path.join(dir(sb.api, 'inbox'), 'Fix Login.md'),
      priority: 0,
      session: null,
    });
    // The same file again: a new id, the first one untouched.
    const b = JSON.parse((await ok(sb, ['task', 'add', 'api', src, '--json'])).stdout);
    expect(b.task).toBe('Fix Login-2');

    // stdin, with `-` and without an argument; two at once never share an id.
    const [c, d] = await Promise.all([
      ok(sb, ['task', 'add', 'api', '-', '--json'], { input: '# Refactor the parser!\nbody\n' }),
      ok(sb, ['task', 'add', 'api', '--json'], { input: '# Refactor the parser!\nbody\n' }),
    ]);
    const ids = [JSON.parse(c.stdout).task, JSON.parse(d.stdout).task];
    expect(new Set(ids).size).toBe(2);
    for (const id of ids) expect(id).toMatch(/^\d{8}-\d{6}-refactor-the-parser(-2)?$/);

    // --priority and --session go into the front matter; what was there stays.
    const e = JSON.parse(
      (
        await ok(
          sb,
          [
            'task',
            'add',
            'api',
            '-',
            '--id',
            `-odd $(id) 'x'`,
            '--priority',
            '7',
            '--session',
            'ccl-1',
            '--json',
          ],
          { input: '---\n# keep me\nowner: ana\npriority: 1\n---\nThe body.\n' },
        )
      ).stdout,
    );
    expect(e).toMatchObject({ task: `-odd $(id) 'x'`, priority: 7, session: 'ccl-1' });
    expect(fs.readFileSync(e.path, 'utf8')).toBe(
      '---\n# keep me\nowner: ana\npriority: 7\nsession: ccl-1\n---\nThe body.\n',
    );
    expect(ls(sb.api, 'inbox')).toEqual(
      [...ids.map((i) => `${i}.md`), 'Fix Login-2.md', 'Fix Login.md', `-odd $(id) 'x'.md`].sort(),
    );
    expect(readEvents(sb.stateDir).filter((x) => x.event === 'task.added')).toHaveLength(5);
  });

  it('a derived id already done or failed is not given out again', async () => {
    const sb = sandbox();
    const src = path.join(sb.home, 'Quick.md');
    fs.writeFileSync(src, '# A quick one\n');
    const add = async () =>
      JSON.parse((await ok(sb, ['task', 'add', 'api', src, '--json'])).stdout).task as string;
    expect(await add()).toBe('Quick');
    await ok(sb, ['task', 'done', 'Quick', '--project', 'api']);
    // The inbox is free again, yet 'Quick' names the task in done/.
    expect(await add()).toBe('Quick-2');
    await ok(sb, ['task', 'fail', 'Quick-2', '--project', 'api', '--reason', 'no']);
    expect(await add()).toBe('Quick-3');
    expect(fs.readdirSync(dir(sb.api, 'done'))).toEqual(['Quick.md']);
    expect(fs.readdirSync(dir(sb.api, 'failed')).filter((n) => n.endsWith('.md'))).toEqual([
      'Quick-2.md',
    ]);
    expect(fs.readdirSync(dir(sb.api, 'inbox'))).toEqual(['Quick-3.md']);
  });

  it('refuses bad input with exit 2 and a message naming the field', async () => {
    const sb = sandbox();
    put(sb.api, 'inbox', 'taken.md', 'the original\n');
    const cases: Array<[string[], string, string?]> = [
      [['--id', 'a/b'], "--id: must not contain '/'"],
      [['--id', '..'], "--id: must not be '.' or '..'"],
      [['--id', '.hidden'], "--id: must not start with '.'"],
      [['--id', 'taken'], "--id: inbox of api already has a task 'taken'"],
      [['--priority', '1.5'], '--priority: expected an integer'],
      [
        ['--session', 'ccl-9'],
        "--session: unknown session 'ccl-9' (sessions of api: ccl-0, ccl-1)",
      ],
      [['--session', 'w-0'], "--session: session 'w-0' belongs to project web, not api"],
      [[], 'stdin: front matter: priority: expected an integer', '---\npriority: soon\n---\nx\n'],
      [[], "stdin: front matter: session: unknown session 'nope'", '---\nsession: nope\n---\nx\n'],
      [[], 'stdin: empty file', ''],
      [[], 'stdin: empty task: only front matter', '---\npriority: 1\n---\n'],
    ];
    for (const [flags, message, input] of cases) {
      const r = await sb.cli(['task', 'add', 'api', '-', ...flags], { input: input ?? 'x\n' });
      expect(r.exitCode, flags.join(' ')).toBe(2);
      expect(r.stderr).toContain(message);
    }
    const bin = path.join(sb.home, 'bin.md');
    fs.writeFileSync(bin, Buffer.from([0xc3, 0x28, 0x0a]));
    const r = await sb.cli(['task', 'add', 'api', bin]);
    expect([r.exitCode, r.stderr]).toEqual([2, expect.stringContaining('bin.md: not valid UTF-8')]);
    expect((await sb.cli(['task', 'add', 'nope', '-'], { input: 'x' })).exitCode).toBe(2);
    expect(
      (await sb.cli(['task', 'add', 'api', path.join(sb.home, 'missing.md')])).stderr,
    ).toContain('missing.md: no such file');
    expect(ls(sb.api, 'inbox')).toEqual(['taken.md']);
    expect(fs.readFileSync(path.join(dir(sb.api, 'inbox'), 'taken.md'), 'utf8')).toBe(
      'the original\n',
    );
  });
});

describe('task list', () => {
  it('shows pending (in dispatch order), dispatched, done and failed tasks', async () => {
    const sb = sandbox();
    put(sb.api, 'inbox', 'low.md');
    put(sb.api, 'inbox', 'high.md', '---\npriority: 3\nsession: ccl-0\n---\nx\n');
    put(sb.api, 'inbox', 'busy.md');
    mark(sb.api, 'busy', 'ccl-1', 2);
    put(sb.api, 'done', 'old.md');
    put(sb.api, 'failed', 'broke.md');
    put(sb.api, 'failed', 'broke.error.txt', 'it broke\n\nmore\n');
    put(sb.web, 'inbox', 'w.md');
    const all = JSON.parse((await ok(sb, ['task', 'list', '--json'])).stdout).tasks;
    expect(
      all.map((t: { project: string; task: string; state: string }) => [
        t.project,
        t.task,
        t.state,
      ]),
    ).toEqual([
      ['api', 'high', 'pending'],
      ['api', 'low', 'pending'],
      ['api', 'busy', 'dispatched'],
      ['api', 'old', 'done'],
      ['api', 'broke', 'failed'],
      ['web', 'w', 'pending'],
    ]);
    expect(all[0]).toMatchObject({ priority: 3, session: 'ccl-0' });
    expect(all[2]).toMatchObject({ session: 'ccl-1', account: 'primary', attempt: 2 });
    expect(all[4]).toMatchObject({ reason: 'it broke' });
    const web = JSON.parse((await ok(sb, ['task', 'list', '--project', 'web', '--json'])).stdout);
    expect(web.tasks.map((t: { task: string }) => t.task)).toEqual(['w']);
    expect((await ok(sb, ['task', 'list'])).stdout).toMatch(/busy\s+│ dispatched/);
  });
});

describe('task done / fail', () => {
  it('done: moves the task, removes the marker, frees the session; again is fine; never overwrites', async () => {
    const sb = sandbox();
    put(sb.api, 'inbox', 'job.md');
    mark(sb.api, 'job', 'ccl-1');
    fs.writeFileSync(
      path.join(sb.api, '.agent-queue', 'status.json'),
      JSON.stringify({
        sessions: {
          'ccl-1': { state: 'working', task: 'job', claudeSessionId: 'abc', updatedAt: null },
        },
      }),
    );
    // What the agent runs: its session comes from the environment.
    const env = { CLAUDE_FAILOVER_SESSION: 'ccl-1' };
    const r = JSON.parse((await ok(sb, ['task', 'done', 'job', '--json'], { env })).stdout);
    expect(r).toEqual({
      task: 'job',
      project: 'api',
      session: 'ccl-1',
      action: 'done',
      path: path.join(dir(sb.api, 'done'), 'job.md'),
    });
    expect(ls(sb.api, 'inbox')).toEqual([]);
    expect(status(sb.api)['ccl-1']).toMatchObject({
      state: 'idle',
      task: null,
      claudeSessionId: 'abc',
    });
    const ev = readEvents(sb.stateDir).find((e) => e.event === 'task.done');
    expect(ev).toMatchObject({ task: 'job', session: 'ccl-1', account: 'primary', attempt: 1 });
    expect(typeof ev?.durationMs).toBe('number');
    // Again: nothing to do, exit 0.
    expect((await ok(sb, ['task', 'done', 'job'], { env })).stdout).toContain('was already done');

    // The same id done twice over time: both kept.
    put(sb.api, 'inbox', 'job.md', 'the second run\n');
    await ok(sb, ['task', 'done', 'job']);
    expect(ls(sb.api, 'done')).toEqual(['job.md', 'job~2.md']);
    expect(fs.readFileSync(path.join(dir(sb.api, 'done'), 'job~2.md'), 'utf8')).toBe(
      'the second run\n',
    );

    // An id that starts with a dash goes after `--`.
    put(sb.api, 'inbox', '-dash.md');
    expect((await sb.cli(['task', 'done', '-dash'])).exitCode).toBe(2);
    await ok(sb, ['task', 'done', '--', '-dash']);
    expect(ls(sb.api, 'done')).toContain('-dash.md');
    expect((await sb.cli(['task', 'done', 'ghost'])).stderr).toContain("no task 'ghost'");
  });

  it('finds the project: --project, the session of $CLAUDE_FAILOVER_SESSION, else asks', async () => {
    const sb = sandbox();
    put(sb.api, 'inbox', 'same.md');
    put(sb.web, 'inbox', 'same.md');
    const r = await sb.cli(['task', 'done', 'same']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("task 'same' exists in projects api, web");
    expect(r.stderr).toContain('--project');
    await ok(sb, ['task', 'done', 'same'], { env: { CLAUDE_FAILOVER_SESSION: 'w-0' } });
    expect(ls(sb.web, 'done')).toEqual(['same.md']);
    await ok(sb, ['task', 'done', 'same', '--project', 'api']);
    expect(ls(sb.api, 'done')).toEqual(['same.md']);
  });

  it('fail: failed/ with .error.txt and an error event; requeue brings it back with its history', async () => {
    const sb = sandbox();
    put(sb.api, 'inbox', 'bad.md');
    mark(sb.api, 'bad', 'ccl-0');
    expect((await sb.cli(['task', 'fail', 'bad'])).exitCode).toBe(2); // --reason is required
    await ok(sb, ['task', 'fail', 'bad', '--reason', 'the API is down'], {
      env: { CLAUDE_FAILOVER_SESSION: 'ccl-0' },
    });
    expect(ls(sb.api, 'inbox')).toEqual([]);
    expect(ls(sb.api, 'failed')).toEqual(['bad.error.txt', 'bad.md']);
    const why = fs.readFileSync(path.join(dir(sb.api, 'failed'), 'bad.error.txt'), 'utf8');
    expect(why.split('\n')[0]).toBe('the API is down');
    expect(why).toContain('session: ccl-0');
    expect(readEvents(sb.stateDir).find((e) => e.event === 'task.failed')).toMatchObject({
      level: 'error',
      task: 'bad',
      reason: 'the API is down',
      session: 'ccl-0',
    });
    expect(status(sb.api)['ccl-0']).toMatchObject({ state: 'idle', task: null });
    expect((await ok(sb, ['task', 'fail', 'bad', '--reason', 'again'])).stdout).toContain(
      'already failed',
    );

    const rq = JSON.parse((await ok(sb, ['task', 'requeue', 'bad', '--json'])).stdout);
    expect(rq).toMatchObject({ action: 'requeued', from: 'failed', attempts: 0 });
    expect(ls(sb.api, 'inbox')).toEqual(['bad.md']);
    expect(ls(sb.api, 'failed')).toEqual([]);
    // Nothing is deleted: the old reason is kept beside the attempts record.
    expect(ls(sb.api, 'attempts')).toEqual([
      expect.stringMatching(/^bad\.\d{8}-\d{6}\.error\.txt$/),
      'bad.json',
    ]);
    expect(readTaskAttempts(sb.api, 'bad').history.at(-1)?.reason).toContain(
      'it had failed: the API is down',
    );
    // A done task cannot be failed; it can be requeued.
    await ok(sb, ['task', 'done', 'bad']);
    expect((await sb.cli(['task', 'fail', 'bad', '--reason', 'x'])).exitCode).toBe(2);
    // A new task of the same id in the inbox is the one the id names now.
    put(sb.api, 'inbox', 'bad.md', 'a new one\n');
    expect((await ok(sb, ['task', 'requeue', 'bad'])).stdout).toContain('already queued');
    expect(ls(sb.api, 'done')).toEqual(['bad.md']);
  });

  it('many `task done` of one task at once: exactly one copy in done/, every call succeeds', async () => {
    const sb = sandbox();
    put(sb.api, 'inbox', 'race.md');
    mark(sb.api, 'race', 'ccl-0');
    const runs = await Promise.all(
      Array.from({ length: 6 }, () => sb.cli(['task', 'done', 'race'])),
    );
    for (const r of runs) expect(r.exitCode, r.stderr).toBe(0);
    expect(ls(sb.api, 'done')).toEqual(['race.md']);
    expect(ls(sb.api, 'inbox')).toEqual([]);
    expect(readEvents(sb.stateDir).filter((e) => e.event === 'task.done')).toHaveLength(1);
  });
});

describe('requeueTask (what the janitor calls)', () => {
  it('counts each unfinished hand-out and gives up after dispatch.maxAttempts', async () => {
    const sb = sandbox();
    const ctx = await sb.ctx();
    put(sb.api, 'inbox', 'flaky.md');
    mark(sb.api, 'flaky', 'ccl-0', 1);
    fs.writeFileSync(
      path.join(sb.api, '.agent-queue', 'status.json'),
      JSON.stringify({
        sessions: {
          'ccl-0': { state: 'working', task: 'flaky', claudeSessionId: null, updatedAt: null },
        },
      }),
    );
    let r = await requeueTask(ctx, 'flaky', {
      by: 'janitor',
      reason: 'its session died',
      inboxOnly: true,
    });
    expect(r).toMatchObject({ action: 'requeued', from: 'inbox', attempts: 1, maxAttempts: 2 });
    expect(ls(sb.api, 'inbox')).toEqual(['flaky.md']);
    expect(readTaskAttempts(sb.api, 'flaky').attempts).toBe(1);
    expect(status(sb.api)['ccl-0']).toMatchObject({ state: 'idle', task: null });

    // Pending without a marker: nothing to do.
    r = await requeueTask(ctx, 'flaky', { by: 'janitor', inboxOnly: true });
    expect(r.action).toBe('unchanged');

    // The second hand-out also ends without done: that was the last attempt.
    mark(sb.api, 'flaky', 'ccl-1', 2);
    r = await requeueTask(ctx, 'flaky', { by: 'janitor', reason: 'stale for 2h', inboxOnly: true });
    expect(r).toMatchObject({ action: 'failed', attempts: 2 });
    expect(ls(sb.api, 'inbox')).toEqual([]);
    expect(ls(sb.api, 'failed')).toEqual(['flaky.error.txt', 'flaky.md']);
    expect(fs.readFileSync(path.join(dir(sb.api, 'failed'), 'flaky.error.txt'), 'utf8')).toMatch(
      /^gave up after 2 attempts \(dispatch.maxAttempts 2\): stale for 2h\n/,
    );
    expect(readTaskAttempts(sb.api, 'flaky').history.map((h) => h.session)).toEqual([
      'ccl-0',
      'ccl-1',
    ]);

    // A leftover marker of a task that is done: only the marker goes.
    put(sb.api, 'done', 'finished.md');
    mark(sb.api, 'finished', 'ccl-0');
    r = await requeueTask(ctx, 'finished', { by: 'janitor', inboxOnly: true });
    expect(r).toMatchObject({ action: 'marker-removed', from: 'done' });
    expect(ls(sb.api, 'done')).toEqual(['finished.md']);
    expect(ls(sb.api, 'inbox')).toEqual([]);

    // The operator's `task requeue` of a handed-out task undoes the hand-out.
    put(sb.api, 'inbox', 'op.md');
    mark(sb.api, 'op', 'ccl-0');
    const cli = JSON.parse(
      (await ok(sb, ['task', 'requeue', 'op', '--reason', 'wrong session', '--json'])).stdout,
    );
    expect(cli).toMatchObject({ action: 'requeued', from: 'inbox', attempts: 1 });
    expect(ls(sb.api, 'inbox')).toEqual(['op.md']);
    const events = readEvents(sb.stateDir).map((e) => e.event);
    expect(events.filter((e) => e === 'task.requeued')).toHaveLength(2);
    expect(events).toContain('task.failed');
  });
});
