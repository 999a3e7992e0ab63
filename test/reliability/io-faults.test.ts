/**
 * Reliability: real filesystem faults under stateDir. A tmpfs of 300 KB holds stateDir; it
 * is filled to 100% (ENOSPC), then remounted read-only (EROFS). Every state-writing command
 * runs under each fault; after each one, state.json is valid and what the command reported
 * matches what happened (the agents in tmux, the queue files, the state). Then the fault is
 * lifted and one `tick` must leave everything consistent. Needs root (skipped otherwise).
 * The unwritable-directory fault, as an unprivileged user, is in io-faults-eacces.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseState } from '../../src/lib/core/state.js';
import type { State } from '../../src/lib/core/state-schema.js';
import type { CliResult } from '../helpers/env.js';
import { mountTmpfs, tmpfsSkipReason, type TmpfsFault } from '../helpers/fs-fault.js';
import { simSandbox, waitFor, type SimSandbox } from '../helpers/sim.js';

const skip = tmpfsSkipReason();
if (skip) console.warn(`io-faults: skipped: ${skip}`);

const SESSIONS = ['ccl-0', 'ccl-1'];

function readState(sb: SimSandbox): State {
  const file = path.join(sb.stateDir, 'state.json');
  return parseState(fs.readFileSync(file, 'utf8'), file);
}

/** The pid of each session's live agent (null: none). */
async function agents(sb: SimSandbox): Promise<Record<string, number | null>> {
  const panes = await sb.tmux.sessions();
  return Object.fromEntries(
    SESSIONS.map((s) => {
      const p = panes.get(s);
      return [s, p && !p.dead && p.currentCommand !== 'bash' ? p.pid : null];
    }),
  );
}

function queueFiles(sb: SimSandbox): { inbox: string[]; done: string[]; failed: string[] } {
  const root = path.join(sb.project, '.agent-queue');
  const list = (d: string) => {
    try {
      return fs.readdirSync(path.join(root, d)).sort();
    } catch {
      return [];
    }
  };
  return { inbox: list('inbox'), done: list('done'), failed: list('failed') };
}

/** No stack trace; exit 0, or 74 with one line naming the file and the fault, and a hint. */
function expectHonest(r: CliResult, what: string, fault: RegExp): void {
  expect(r.stderr, `${what}: no stack trace`).not.toMatch(/^\s+at /m);
  expect([0, 74], `${what}: exit ${r.exitCode}\n${r.stderr}`).toContain(r.exitCode);
  if (r.exitCode === 74) {
    // `tick` names the steps a fault skipped before the message.
    expect(r.stderr, what).toMatch(
      new RegExp(`^error: (\\S.*: )?cannot [a-z ]+ /\\S+: .*${fault.source}`, 'm'),
    );
    expect(r.stderr, what).toMatch(/^hint: /m);
  }
}

/** After the fault: no temp file left behind, and the state says what tmux shows. */
async function expectConsistent(sb: SimSandbox): Promise<void> {
  const state = readState(sb);
  const live = await agents(sb);
  for (const s of SESSIONS) {
    if (state.sessions[s]?.stopped) expect(live[s], `${s} stopped`).toBeNull();
    else expect(live[s], `${s} running`).not.toBeNull();
    expect(state.sessions[s]?.account).toBe(state.activeAccount);
  }
  const temps = (dir: string): string[] =>
    fs.existsSync(dir)
      ? fs
          .readdirSync(dir, { recursive: true, encoding: 'utf8' })
          .filter((n) => /\.tmp-\d+-/.test(n))
      : [];
  // The agents' hooks write status.json and signals all the time: a temp file of a write in
  // progress is fine, one that stays is not.
  let left: string[] = [];
  await waitFor(
    () => {
      left = [...temps(sb.stateDir), ...temps(path.join(sb.project, '.agent-queue'))];
      return !left.length;
    },
    'no temp file left behind',
    10_000,
  ).catch(() => {
    throw new Error(`temp files left behind: ${left.join(', ')}`);
  });
}

/** doctor's line about the space and writability of stateDir. */
async function doctorSpace(sb: SimSandbox): Promise<{ level: string; detail: string }> {
  const r = await sb.cli(['doctor', '--json']);
  const checks = (
    JSON.parse(r.stdout) as { checks: Array<{ name: string; level: string; detail: string }> }
  ).checks;
  return checks.find((c) => c.name === 'state dir space')!;
}

async function startPool(): Promise<{ sb: SimSandbox; fs: TmpfsFault }> {
  const sb = simSandbox({ sessions: 'ccl-{0..1}', extra: 'checkpoint: { interval: 1s }\n' });
  const fault = mountTmpfs(sb.stateDir, 300);
  expect((await sb.cli(['setup'])).exitCode).toBe(0);
  const start = await sb.cli(['session', 'start']);
  expect(start.exitCode, start.stderr).toBe(0);
  await waitFor(async () => Object.values(await agents(sb)).every(Boolean), 'both agents');
  return { sb, fs: fault };
}

/**
 * Runs every state-writing command under the fault and checks that each told the truth.
 * `task` is a pending task to move around.
 */
async function commandsUnderFault(sb: SimSandbox, fault: RegExp): Promise<void> {
  const before = await agents(sb);
  const stateBefore = readState(sb);

  // A stop that cannot be recorded is not made: watch would restart it.
  const stop = await sb.cli(['session', 'stop', 'ccl-0']);
  expectHonest(stop, 'session stop', fault);
  expect(stop.exitCode).toBe(74);
  expect(stop.stderr).toMatch(/no session was stopped/);
  expect(await agents(sb)).toEqual(before);
  expect(readState(sb).sessions['ccl-0']!.stopped).toBe(false);

  // Its intent (run ccl-1 on this account) is on record already: the restart happens, and
  // the launch details that cannot be written are a warning, not a failure.
  const restart = await sb.cli(['session', 'restart', 'ccl-1']);
  expectHonest(restart, 'session restart', fault);
  expect(restart.exitCode, restart.stderr).toBe(0);
  expect(restart.stderr).toMatch(/^warning: could not write the state file .*state\.json/m);
  // Its hooks cannot record SessionStart: ready is read from the screen, not waited for.
  expect(restart.stdout).toMatch(/^ccl-1: started on primary/m);
  expect(restart.stdout).not.toMatch(/not ready/);
  const restarted = await agents(sb);
  expect(restarted['ccl-0']).toBe(before['ccl-0']);
  expect(restarted['ccl-1']).not.toBe(before['ccl-1']);
  before['ccl-1'] = restarted['ccl-1']!;

  // Nothing to start: nothing to write either.
  const start = await sb.cli(['session', 'start']);
  expectHonest(start, 'session start', fault);
  expect(start.exitCode, start.stderr).toBe(0);
  expect(await agents(sb)).toEqual(before);

  // The task file is the main effect (the queue is on another disk); the event is secondary.
  const add = await sb.cli(['task', 'add', 'api', '-', '--id', 'under-fault'], {
    input: '# a task added under the fault\n',
  });
  expectHonest(add, 'task add', fault);
  expect(add.exitCode, add.stderr).toBe(0);
  expect(add.stderr).toMatch(/^warning: could not write the event log \S+events\.jsonl/m);
  expect(queueFiles(sb).inbox.filter((n) => n.startsWith('under-fault'))).toEqual([
    'under-fault.md',
  ]);

  const fail = await sb.cli(['task', 'fail', 'under-fault', '--reason', 'testing']);
  expectHonest(fail, 'task fail', fault);
  expect(fail.exitCode, fail.stderr).toBe(0);
  expect(queueFiles(sb).failed).toContain('under-fault.md');

  const requeue = await sb.cli(['task', 'requeue', 'under-fault']);
  expectHonest(requeue, 'task requeue', fault);
  expect(requeue.exitCode, requeue.stderr).toBe(0);
  expect(queueFiles(sb).inbox).toContain('under-fault.md');

  // A swap journals before it acts: with no journal, nothing is stopped.
  const swap = await sb.cli(['swap', '--to', 'backup', '--reason', 'test']);
  expectHonest(swap, 'swap', fault);
  expect(swap.exitCode).toBe(74);
  expect(await agents(sb)).toEqual(before);
  expect(readState(sb).activeAccount).toBe(stateBefore.activeAccount);
  expect(readState(sb).swapJournal).toEqual(stateBefore.swapJournal);

  // Dispatch: either the task went to a session with its marker, or nothing happened.
  const dispatch = await sb.cli(['dispatch', '--json']);
  expectHonest(dispatch, 'dispatch', fault);
  const markers = queueFiles(sb).inbox.filter((n) => n.endsWith('.dispatched'));
  if (dispatch.exitCode === 0) {
    const assigned = (JSON.parse(dispatch.stdout) as { assignments: Array<{ task: string }> })
      .assignments;
    // Each hand-out has its marker, unless its agent has already run `task done`, which moves
    // the task to done/ and then removes the marker.
    const { done: finished } = queueFiles(sb);
    for (const a of assigned)
      expect(
        markers.includes(`${a.task}.md.dispatched`) || finished.includes(`${a.task}.md`),
        `${a.task}: no marker, and not done`,
      ).toBe(true);
    expect(markers.length).toBeLessThanOrEqual(assigned.length);
  } else expect(markers).toEqual([]);

  // Done (by us, or already by the agent it was handed to): a move in the queue.
  const done = await sb.cli(['task', 'done', 'under-fault', '--project', 'api']);
  expectHonest(done, 'task done', fault);
  expect(done.exitCode, done.stderr).toBe(0);
  expect(queueFiles(sb).done).toContain('under-fault.md');

  for (const args of [['checkpoint'], ['janitor'], ['quota', 'check'], ['watch']]) {
    const r = await sb.cli(args);
    expectHonest(r, args.join(' '), fault);
  }

  // A dead agent while the disk is full: tick says so once, and the running one runs on.
  await sb.tmux.killSession('ccl-0');
  const tick = await sb.cli(['tick']);
  expectHonest(tick, 'tick', fault);
  expect(tick.exitCode).toBe(74);
  expect(tick.stderr.match(new RegExp(fault.source, 'g'))?.length, tick.stderr).toBe(1);
  expect((await agents(sb))['ccl-1']).toBe(before['ccl-1']);
  readState(sb);
}

/** The fault is gone: one tick completes what was left, and the pool is consistent. */
async function recoverAndCheck(sb: SimSandbox): Promise<void> {
  const tick = await sb.cli(['tick']);
  expect(tick.stderr).not.toMatch(/^\s+at /m);
  expect(tick.stderr).not.toMatch(/ENOSPC|EROFS/);
  await waitFor(async () => (await agents(sb))['ccl-0'], 'ccl-0 restarted by tick');
  await expectConsistent(sb);
  // And a stop is recorded again.
  const stop = await sb.cli(['session', 'stop', 'ccl-1']);
  expect(stop.exitCode, stop.stderr).toBe(0);
  expect(readState(sb).sessions['ccl-1']!.stopped).toBe(true);
  await sb.cli(['tick']);
  await expectConsistent(sb);
}

describe.skipIf(skip)('filesystem faults under stateDir (tmpfs, root)', () => {
  it('a full stateDir: nothing half-done, nothing reported falsely, and one tick catches up', async () => {
    const { sb, fs: fault } = await startPool();
    try {
      fault.fill();
      expect(await doctorSpace(sb)).toMatchObject({
        level: 'warn',
        detail: expect.stringMatching(/free, below doctor\.minFreeSpace \(100MB\)/),
      });
      await commandsUnderFault(sb, /no space left on device \(ENOSPC\)/);
      fault.unfill();
      await recoverAndCheck(sb);
    } finally {
      fault.unmount();
    }
  });

  it('a disk that fills in the middle of a swap: it says how far it got, and one tick finishes it', async () => {
    const { sb, fs: fault } = await startPool();
    try {
      const swap = sb.cli(['swap', '--to', 'backup', '--reason', 'test']);
      await waitFor(
        () => {
          const j = readState(sb).swapJournal;
          return j && j.step !== 'planned';
        },
        'the swap past its first step',
        30_000,
        10,
      );
      fault.fill();
      const r = await swap;
      const enospc = /no space left on device \(ENOSPC\)/;
      expectHonest(r, 'swap', enospc);
      const journal = readState(sb).swapJournal!;
      if (r.exitCode === 74)
        expect(r.stderr).toContain(
          `(journaled at '${journal.step}'); the next 'tick', 'quota check' or 'swap' carries it forward`,
        );
      fault.unfill();
      const tick = await sb.cli(['tick']);
      expect(tick.stderr).not.toMatch(/ENOSPC|^\s+at /m);
      expect(readState(sb).swapJournal?.step ?? 'done').toBe('done');
      expect(readState(sb).activeAccount).toBe('backup');
      await waitFor(async () => Object.values(await agents(sb)).every(Boolean), 'both agents');
      await expectConsistent(sb);
    } finally {
      fault.unmount();
    }
  });

  it('a read-only stateDir: the same, and the hint says stateDir is read-only', async () => {
    const { sb, fs: fault } = await startPool();
    try {
      fault.readOnly(true);
      const stop = await sb.cli(['session', 'stop', 'ccl-0']);
      expect(stop.stderr).toMatch(/^hint: stateDir is read-only/m);
      // -v shows where it came from.
      const verbose = await sb.cli(['-v', 'session', 'stop', 'ccl-0']);
      expect(verbose.stderr).toMatch(/^\s+at /m);
      expect(verbose.stderr).toMatch(/^Error: EROFS: read-only file system, mkdir/m);
      expect(await doctorSpace(sb)).toMatchObject({
        level: 'fail',
        detail: expect.stringMatching(/^stateDir is read-only/),
      });
      await commandsUnderFault(sb, /read-only file system \(EROFS\)/);
      fault.readOnly(false);
      await recoverAndCheck(sb);
    } finally {
      fault.unmount();
    }
  });
});
