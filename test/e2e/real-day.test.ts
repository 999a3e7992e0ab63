/**
 * A day of the pool with the real Claude Code CLI (issue 13): four real sessions whose tasks
 * are done through Claude Code's own Bash tool (the fake API's `task` mode: some work, then
 * exactly the `task done` command line of the prompt), `tick` on a ~2 s timer, and
 *
 * 1. a usage limit midway on `primary` while tasks are in flight: the pool moves to `backup`,
 *    the interrupted tasks get the resume prompt, and every task is done exactly once;
 * 2. `backup` exhausted too while `primary` is still out: one `accounts.exhausted`
 *    notification, no swap, the sessions keep running; when `primary`'s reset passes, the
 *    pool moves back and the new tasks finish.
 *
 * The limit's reset is a minute boundary 1.5-2.5 minutes ahead (Claude Code prints a
 * clock-only `resets 7:14pm (UTC)`, so a reset inside a minute would read as already past),
 * and `quota.skipIfResetWithin` is short so that such a near reset is still swapped away from.
 * Everything waits on deadlines and polls; nothing asserts on timing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inputBoxText } from '../../src/lib/agents/screens.js';
import { bashQuote } from '../../src/lib/core/shell.js';
import { cliCommand } from '../../src/lib/dispatch/prompt.js';
import { startHttpSink, type HttpSink } from '../helpers/http-sink.js';
import {
  agentStatus,
  CLAUDE_VERSION,
  closeRealSandboxes,
  createRealSandbox,
  fakeToken,
  lineText,
  paneText,
  readTranscript,
  waitFor,
  waitForPrompt,
  type RealSandbox,
} from '../helpers/real-claude.js';

const SESSIONS = ['day-1', 'day-2', 'day-3', 'day-4'];
/** Seconds each work step of a task sleeps: long enough to catch tasks in flight. */
const STEP_SECONDS = 4;
const TICK_EVERY_MS = 2000;
const RESUME_WORDS = 'You were moved to another account after a usage limit.';

type Json = Record<string, unknown>;

// The default dispatch.prompt: `... run: {cli} task done -- {taskId}`, where {cli} is the
// absolute node and CLI script of this install, because Claude Code's Bash tool runs in a
// login-shell snapshot whose PATH need not have claude-failover.
const doneCommand = (id: string) => `${cliCommand()} task done -- ${bashQuote(id)}`;

let sb: RealSandbox;
let sink: HttpSink;
let ticker: Ticker | null = null;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Ticker {
  runs: Array<{ at: string; exitCode: number; out: string }>;
  stop(): Promise<void>;
}

/** One line per tick: each step's summary (and error). */
function tickSummary(stdout: string, stderr: string): string {
  try {
    const r = JSON.parse(stdout) as { skipped: boolean; steps: Json[] };
    if (r.skipped) return 'skipped';
    return r.steps
      .filter((st) => st.ran)
      .map(
        (st) =>
          `${String(st.step)}: ${String(st.summary)}${st.error ? ` (${String(st.error)})` : ''}`,
      )
      .join('; ');
  } catch {
    return `${stdout}${stderr}`.slice(0, 1000);
  }
}

/** `claude-failover tick` every ~2 s, one at a time, as a timer would run it. */
function startTicker(box: RealSandbox): Ticker {
  const runs: Ticker['runs'] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const at = new Date().toISOString();
      const r = await box.cli(['tick', '--json']);
      runs.push({ at, exitCode: r.exitCode, out: tickSummary(r.stdout, r.stderr) });
      for (let t = 0; t < TICK_EVERY_MS && !stopped; t += 100) await sleep(100);
    }
  })();
  return {
    runs,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

function events(): Json[] {
  const file = path.join(sb.stateDir, 'events.jsonl');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Json);
}

const queue = (dir: 'inbox' | 'done' | 'failed') => {
  const d = path.join(sb.project, '.agent-queue', dir);
  return fs.existsSync(d) ? fs.readdirSync(d).sort() : [];
};

async function addTask(id: string): Promise<void> {
  const file = path.join(sb.home, `${id}.md`);
  fs.writeFileSync(file, `# ${id}\n\nSay that ${id} is done.\n`);
  const r = await sb.cli(['task', 'add', 'app', file, '--id', id]);
  expect(r.exitCode, r.stderr).toBe(0);
}

/** The `task done` command lines of a task the fake asked for, and those that ran. */
function doneCalls(id: string) {
  const cmd = doneCommand(id);
  return {
    issued: sb.api.toolCalls.filter((c) => c.command === cmd),
    ran: sb.api.ranCommands().filter((c) => c.command === cmd),
  };
}

/**
 * Each task's `task done` command line was asked for once and ran once. A command that ran
 * shows in the request after it (its tool_result), which may come a moment after the task
 * file moved to done/.
 */
async function expectDoneOnce(ids: string[]): Promise<void> {
  await until(
    () => ids.every((id) => doneCalls(id).ran.length > 0),
    'the result of every task done command',
    30_000,
  );
  for (const id of ids) {
    const { issued, ran } = doneCalls(id);
    expect(ran, `task done of ${id} ran once`).toHaveLength(1);
    expect(issued, `task done of ${id} asked for once`).toHaveLength(1);
  }
}

/** Everything needed to see why a wait failed: events, ticks, panes, tool calls. */
async function diagnosis(): Promise<string> {
  const panes = await Promise.all(
    SESSIONS.map(async (s) => {
      const text = await paneText(sb.tmux, s, 60).catch((e: Error) => e.message);
      const lines = text.split('\n').filter((l) => l.trim());
      return { s, box: inputBoxText(lines), tail: lines.slice(-25).join('\n') };
    }),
  );
  return [
    ...panes
      .filter((p) => p.box)
      .map((p) => `NOT SUBMITTED: the input box of ${p.s} holds: ${p.box}`),
    `inbox: ${queue('inbox').join(' ')}`,
    `done: ${queue('done').join(' ')}`,
    `failed: ${queue('failed').join(' ')}`,
    '--- events ---',
    ...events().map((e) =>
      JSON.stringify(e).slice(0, String(e.event).startsWith('swap.') ? 1500 : 400),
    ),
    '--- last ticks ---',
    ...(ticker?.runs.slice(-6).map((r) => `${r.at} exit ${r.exitCode}: ${r.out}`) ?? []),
    '--- tool calls ---',
    ...sb.api.toolCalls.map((c) => `${c.at} ${c.token} ${c.kind} ${c.command}`),
    ...panes.map((p) => `--- pane ${p.s} ---\n${p.tail}`),
  ].join('\n');
}

/** waitFor, with the diagnosis in the error. */
async function until<T>(
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  what: string,
  timeoutMs: number,
): Promise<T> {
  try {
    return await waitFor(probe, what, timeoutMs, 250);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${await diagnosis()}`);
  }
}

/** What a phase did, on stderr: who had a task at the swap, what the fake was asked. */
function report(phase: string, swap: Json): void {
  const calls = sb.api.toolCalls;
  process.stderr.write(
    `${phase}: swap ${String(swap.from)} -> ${String(swap.to)} in ${String(swap.durationMs)} ms; sessions ${JSON.stringify(swap.sessions)}; ${calls.length} tool calls (${calls.filter((c) => c.kind === 'run').length} task done), ${ticker?.runs.length ?? 0} ticks\n`,
  );
}

/** The first minute boundary at least `aheadS` seconds from now, epoch seconds. */
const minuteAfter = (aheadS: number) => Math.ceil((Date.now() / 1000 + aheadS) / 60) * 60;

/** The user lines of a session's conversation (transcript by its current id). */
function userTexts(session: string): string[] {
  const id = agentStatus(sb.project, session)?.claudeSessionId;
  if (!id) return [];
  const file = path.join(sb.transcriptDir, `${id}.jsonl`);
  if (!fs.existsSync(file)) return [];
  return readTranscript(file)
    .filter((l) => l.type === 'user')
    .map(lineText);
}

beforeAll(async () => {
  sink = await startHttpSink();
  sb = await createRealSandbox({
    accounts: ['primary', 'backup'],
    sessions: SESSIONS,
    apiOptions: { defaultMode: 'task', taskStepSeconds: STEP_SECONDS },
    extraYaml: `dispatch: { settle: 500ms }
quota: { reactivateCooldown: 10s, skipIfResetWithin: 5s }
notify:
  events: [accounts.exhausted, swap.completed, swap.failed]
  webhook: { url: ${JSON.stringify(`${sink.url}/hook`)} }
`,
  });
  const r = await sb.cli(['setup']);
  expect(r.exitCode, r.stderr).toBe(0);
  const s = await sb.cli(['session', 'start']);
  expect(s.exitCode, s.stderr).toBe(0);
  for (const name of SESSIONS) await waitForPrompt(sb.tmux, name);
}, 120_000);

afterAll(async () => {
  await ticker?.stop();
  await closeRealSandboxes();
});

describe.sequential(`a day of the pool (real Claude Code ${CLAUDE_VERSION})`, () => {
  let primaryReset = 0;
  let firstSwapAt = '';
  let phase1Done = false;

  it('a limit midway: the pool moves to backup and every task is done exactly once', async () => {
    const tasks = ['t-1', 't-2', 't-3', 't-4', 't-5'];
    for (const id of tasks) await addTask(id);
    ticker = startTicker(sb);

    // Tasks in flight: dispatched, and their agents in the middle of their work steps.
    await until(
      () =>
        sb.api.toolCalls.filter((c) => c.kind === 'work' && c.token === fakeToken('primary'))
          .length >= 3,
      'three work steps on primary',
      90_000,
    );
    primaryReset = minuteAfter(90);
    sb.api.limitUntil(fakeToken('primary'), primaryReset);

    const swap = await until(
      () => events().find((e) => e.event === 'swap.completed' && e.to === 'backup'),
      'the swap to backup',
      120_000,
    );
    firstSwapAt = swap.ts as string;
    expect(swap).toMatchObject({ from: 'primary', to: 'backup' });

    // Every task done, once; no marker left.
    await until(
      () => tasks.every((id) => queue('done').includes(`${id}.md`)) && !queue('inbox').length,
      'every task in done/ and an empty inbox',
      90_000,
    );
    expect(queue('failed')).toEqual([]);
    await expectDoneOnce(tasks);
    expect(queue('inbox').filter((f) => f.endsWith('.dispatched'))).toEqual([]);

    // Each session that had a task at the swap got the resume prompt, and it reached the
    // conversation: a user line in its transcript.
    const prompted = (swap.sessions as Json[]).filter((s) => s.task);
    expect(prompted.length).toBeGreaterThan(0);
    for (const s of prompted) {
      expect(s, `${String(s.name)} prompted`).toMatchObject({ prompted: true });
      await until(
        () =>
          userTexts(s.name as string).some(
            (t) => t.includes(RESUME_WORDS) && t.includes(`${String(s.task)}.md`),
          ),
        `the resume prompt in the transcript of ${String(s.name)}`,
        30_000,
      );
    }
    // The last answers came through backup.
    expect(sb.api.ranCommands().at(-1)!.token).toBe(fakeToken('backup'));
    report('phase 1', swap);
    phase1Done = true;
  }, 300_000);

  it('backup exhausted too while primary is out: one notification, no swap, then back to primary', async (ctx) => {
    if (!phase1Done) ctx.skip();
    expect(Date.now() / 1000, 'primary is still out (the first phase took too long)').toBeLessThan(
      primaryReset - 10,
    );
    const backupReset = minuteAfter(3 * 3600);
    sb.api.limitUntil(fakeToken('backup'), backupReset);
    const pids = new Map(
      [...(await sb.tmux.sessions()).entries()].map(([name, p]) => [name, p.pid]),
    );
    await addTask('t-6');
    await addTask('t-7');

    const exhausted = await until(
      () => events().find((e) => e.event === 'accounts.exhausted'),
      'accounts.exhausted',
      90_000,
    );
    expect(exhausted).toMatchObject({ from: 'backup' });
    // A few more ticks while both are out: still one event and one notification, no swap.
    const ticksNow = ticker!.runs.length;
    await until(() => ticker!.runs.length >= ticksNow + 3, 'three more ticks', 60_000);
    if (Date.now() / 1000 < primaryReset - 2) {
      expect(events().filter((e) => e.event === 'accounts.exhausted')).toHaveLength(1);
      expect(
        events().filter((e) => e.event === 'swap.started' && (e.ts as string) > firstSwapAt),
      ).toEqual([]);
      for (const [name, pid] of pids)
        expect((await sb.tmux.sessions()).get(name)?.pid, `${name} still running`).toBe(pid);
    }

    // Primary's reset passes: the pool moves back, the waiting tasks finish.
    const back = await until(
      () => events().find((e) => e.event === 'swap.completed' && e.to === 'primary'),
      'the swap back to primary',
      Math.max(0, primaryReset * 1000 - Date.now()) + 120_000,
    );
    expect(back).toMatchObject({ from: 'backup', to: 'primary' });
    expect(events().filter((e) => e.event === 'accounts.exhausted')).toHaveLength(1);
    await addTask('t-8');
    const tasks = ['t-6', 't-7', 't-8'];
    await until(
      () => tasks.every((id) => queue('done').includes(`${id}.md`)) && !queue('inbox').length,
      'the new tasks in done/ and an empty inbox',
      120_000,
    );
    await expectDoneOnce(tasks);
    expect(doneCalls('t-8').ran[0]!.token).toBe(fakeToken('primary'));
    const notified = sink.events().filter((e) => e.event === 'accounts.exhausted');
    expect(notified).toHaveLength(1);
    report('phase 2', back);
  }, 360_000);
});
