/**
 * `dispatch`: hands inbox tasks to idle sessions, at least once and never twice at the same
 * time (SPEC sections 4 and 5).
 *
 * Two guards make "never twice" hold with any number of dispatchers running at once:
 *
 * 1. A task is handed out only by whoever creates its marker `inbox/<id>.md.dispatched`
 *    exclusively, before the prompt is sent; the marker goes again when the prompt never
 *    reached the agent. A prompt that was typed but not confirmed by Claude Code keeps the
 *    marker and is owed (see delivery.ts): each run first delivers what is owed. So one task
 *    has at most one live hand-out.
 * 2. A session is given a task only under its claim, a per-session lock
 *    (`<stateDir>/dispatch/<session>.lock`, proper-lockfile, so a claim left by a killed
 *    dispatcher goes stale), and only after a fresh look at the markers shows that it holds
 *    no undone task. Two dispatchers that both saw the session idle in their scans cannot both
 *    hand it a task: the second either finds the claim taken and moves on, or gets it after
 *    the first released it and then sees the first one's marker. A per-session lock rather
 *    than one lock around the whole run keeps sessions independent: a slow delivery to one
 *    agent does not hold up the others, and an overlapping dispatch still does useful work.
 *
 * "At least once": a dispatcher killed after creating a marker leaves it in place; the
 * janitor requeues such stale markers (`requeueTask`) up to `dispatch.maxAttempts`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readAgentStatus } from '../queue/status-file.js';
import type { SessionConfig } from '../core/config.js';
import type { Context } from '../core/context.js';
import {
  clearUndelivered,
  confirmationProbe,
  renderJob,
  sendTaskPrompt,
  type TaskPromptJob,
} from './delivery.js';
import { logEvent } from '../core/events.js';
import { ensurePrivateDir } from '../core/fs-atomic.js';
import { inspectTaskFile, TaskFileError } from '../queue/front-matter.js';
import {
  isSessionIdle,
  liveMarkers,
  sessionIdleness,
  type SessionIdleness,
} from '../agents/idle.js';
import type { State, Undelivered } from '../core/state-schema.js';
import { tryLock } from '../core/lock.js';
import {
  createDispatchMarker,
  readTaskAttempts,
  removeDispatchMarker,
  type DispatchMarker,
} from '../queue/files.js';
import { updateAgentStatus } from '../claude/signals.js';
import { scanInbox, type InboxScan, type ScannedTask } from '../queue/scan.js';
import { failTaskFile } from '../tasks/finish.js';
import { pinProblem, type Project } from '../tasks/locate.js';

export interface DispatchOptions {
  /** Plan only: no marker, no prompt, no status change, no move (the scan cache is kept). */
  dryRun?: boolean;
  /** Only these projects (default: all). */
  projects?: readonly string[];
}

export interface Assignment {
  task: string;
  project: string;
  session: string;
  account: string;
  attempt: number;
  priority: number;
  path: string;
}

export interface SkippedTask {
  /** The task id, or null for an inbox entry that is not a task. */
  task: string | null;
  file: string;
  project: string;
  reason: string;
}

export interface FailedTask {
  task: string;
  project: string;
  reason: string;
  /** Where it is now (failed/...), or where it is, in a dry run. */
  path: string;
}

export interface DispatchError {
  task: string;
  project: string;
  session: string;
  reason: string;
  /** The prompt was typed: the task stays in flight and the next run delivers it again. */
  owed: boolean;
}

export interface Redelivery {
  task: string;
  project: string;
  session: string;
  prompt: 'dispatch' | 'resume';
  /**
   * delivered: confirmed now; confirmed-late: it had gone in after all; undelivered: still
   * not confirmed (tried again next run); waiting: the session cannot take input now;
   * released: given up on this session, back in the queue; dropped: no longer in flight.
   */
  outcome: 'delivered' | 'confirmed-late' | 'undelivered' | 'waiting' | 'released' | 'dropped';
  reason: string | null;
}

export interface DispatchReport {
  at: string;
  dryRun: boolean;
  assignments: Assignment[];
  /** Tasks that cannot be dispatched (bad input): moved to failed/ (or would be, dry run). */
  failed: FailedTask[];
  skipped: SkippedTask[];
  /**
   * Prompts Claude Code did not confirm: typed but unconfirmed (the task stays in flight and
   * is delivered again by the next run), or that never reached the agent (the marker was
   * removed again).
   */
  errors: DispatchError[];
  /** Prompts of earlier runs that were never confirmed, and what this run did with them. */
  redelivered: Redelivery[];
  /** The sessions of projects with work waiting, idle or not, and why. */
  sessions: SessionIdleness[];
  /**
   * Sessions that were idle in the scan but passed over at hand-out time: another dispatch
   * was handing them a task, or had just done so.
   */
  passed: Array<{ session: string; reason: string }>;
  warnings: string[];
}

/** The claim of a session while a dispatcher hands it a task (see the header). */
export function sessionClaimPath(stateDir: string, session: string): string {
  return path.join(stateDir, 'dispatch', session);
}

/** A project's pending tasks in order, each handed to at most one session per run. */
class TaskQueue {
  private readonly taken = new Set<string>();
  constructor(readonly tasks: ScannedTask[]) {}
  /** The first task this session may take (unpinned, or pinned to it), now taken. */
  next(session: string): ScannedTask | null {
    for (const t of this.tasks) {
      if (this.taken.has(t.id) || (t.session !== null && t.session !== session)) continue;
      this.taken.add(t.id);
      return t;
    }
    return null;
  }
  /** Offers a task again (its hand-out failed for reasons of the session, not the task). */
  giveBack(id: string): void {
    this.taken.delete(id);
  }
  remaining(): ScannedTask[] {
    return this.tasks.filter((t) => !this.taken.has(t.id));
  }
}

interface ProjectRun {
  project: Project;
  scan: InboxScan;
  queue: TaskQueue;
  markers: DispatchMarker[];
  sessions: SessionConfig[];
}

/** Scans every queue and hands out what it can; see the module header. */
export async function runDispatch(
  ctx: Context,
  opts: DispatchOptions = {},
): Promise<DispatchReport> {
  const { config } = ctx;
  const dryRun = Boolean(opts.dryRun);
  const now = ctx.clock.now();
  const report: DispatchReport = {
    at: now.toISOString(),
    dryRun,
    assignments: [],
    failed: [],
    skipped: [],
    errors: [],
    redelivered: [],
    sessions: [],
    passed: [],
    warnings: [],
  };
  const state = ctx.state.read();
  const projects = opts.projects
    ? config.projects.filter((p) => opts.projects!.includes(p.name))
    : config.projects;

  // 1. Scan each inbox (one listing, one stat per task, cached front matter).
  const runs: ProjectRun[] = [];
  for (const project of projects) {
    const scan = await scanInbox(config, project, now, { settle: config.dispatch.settle });
    const markers = liveMarkers(project.path, (m) => report.warnings.push(m));
    const heldBy = new Map(markers.map((m) => [m.taskId, m.session]));
    for (const x of scan.ignored)
      report.skipped.push({ task: null, file: x.file, project: project.name, reason: x.reason });
    for (const s of scan.settling)
      report.skipped.push({
        task: s.id,
        file: `${s.id}.md`,
        project: project.name,
        reason: `settling (modified ${(s.ageMs / 1000).toFixed(1)}s ago; dispatch.settle is ${config.dispatch.settle / 1000}s)`,
      });
    for (const id of scan.dispatched) {
      const who = heldBy.get(id);
      report.skipped.push({
        task: id,
        file: `${id}.md`,
        project: project.name,
        reason: who ? `already dispatched to ${who}` : 'already dispatched (marker present)',
      });
    }
    // 2. Bad input fails alone: the task goes to failed/ with the reason; the rest go on.
    const valid: ScannedTask[] = [];
    for (const t of scan.pending) {
      const pin = t.session === null ? null : pinProblem(config, project.name, t.session);
      const reason = t.error ?? (pin ? `front matter: session: ${pin}` : null);
      if (!reason) {
        valid.push(t);
        continue;
      }
      if (dryRun) {
        report.failed.push({ task: t.id, project: project.name, reason, path: t.path });
        continue;
      }
      const moved = failTaskFile(ctx, project, t.id, reason, { by: 'dispatch' });
      if (moved?.by === 'us')
        report.failed.push({ task: t.id, project: project.name, reason, path: moved.path });
    }
    runs.push({
      project,
      scan,
      queue: new TaskQueue(valid),
      markers,
      sessions: config.sessions.filter((s) => s.project === project.name),
    });
  }

  // 3. Prompts of earlier runs that Claude Code never confirmed go in again first.
  const owed = runs.flatMap((run) =>
    run.sessions
      .filter((s) => state.sessions[s.name]?.undelivered)
      .map((session) => ({ run, session, record: state.sessions[session.name]!.undelivered! })),
  );
  if (owed.length && !dryRun)
    await Promise.all(owed.map((o) => redeliver(ctx, report, state, now, o)));

  // 4. Which sessions can take a task: only where a task is waiting (panes cost a tmux call).
  const busy = runs.filter((r) => r.queue.tasks.length > 0 && r.sessions.length > 0);
  if (busy.length) {
    let panes;
    try {
      panes = await ctx.tmux.sessions();
    } catch (err) {
      report.warnings.push(`tmux: ${(err as Error).message.split('\n')[0]}`);
      panes = new Map();
    }
    report.sessions = await sessionIdleness(ctx, state, now, {
      sessions: busy.flatMap((r) => r.sessions),
      panes,
      markers: new Map(busy.map((r) => [r.project.path, r.markers])),
    });
  }
  const idleness = new Map(report.sessions.map((s) => [s.session, s]));

  // 5. Hand out: each idle session takes the first task it may (priority, then name).
  const gotTask = new Set<string>();
  const passed = new Map<string, string>();
  const work = busy.flatMap((r) =>
    r.sessions.filter((s) => idleness.get(s.name)?.idle).map((s) => ({ run: r, session: s })),
  );
  if (dryRun) {
    for (const { run, session } of work) {
      const t = run.queue.next(session.name);
      if (!t) continue;
      gotTask.add(session.name);
      report.assignments.push(assignmentOf(run, session, t, idleness.get(session.name)!));
    }
  } else {
    await Promise.all(
      work.map(async ({ run, session }) => {
        const outcome = await handOut(ctx, report, run, session, idleness.get(session.name)!);
        if (outcome === true) gotTask.add(session.name);
        else if (typeof outcome === 'string') {
          passed.set(session.name, outcome);
          report.passed.push({ session: session.name, reason: outcome });
        }
      }),
    );
  }

  // 6. What is left waits, with the reason.
  for (const run of runs) {
    const idleCount = run.sessions.filter((s) => idleness.get(s.name)?.idle).length;
    for (const t of run.queue.remaining()) {
      let reason: string;
      if (t.session !== null) {
        const s = idleness.get(t.session);
        reason = gotTask.has(t.session)
          ? `pinned to ${t.session}, which took another task in this run`
          : passed.has(t.session)
            ? `pinned to ${t.session}: ${passed.get(t.session)}`
            : `pinned to ${t.session}, which is not idle: ${s?.reason ?? 'unknown'}`;
      } else if (run.sessions.length === 0) reason = `project ${run.project.name} has no sessions`;
      else if (idleCount === 0) reason = 'no idle session';
      else reason = 'no idle session left in this run';
      report.skipped.push({ task: t.id, file: t.name, project: run.project.name, reason });
    }
  }
  return report;
}

function assignmentOf(
  run: ProjectRun,
  session: SessionConfig,
  t: ScannedTask,
  idle: SessionIdleness,
): Assignment {
  return {
    task: t.id,
    project: run.project.name,
    session: session.name,
    account: idle.account,
    attempt: readTaskAttempts(run.project.path, t.id).attempts + 1,
    priority: t.priority,
    path: t.path,
  };
}

/**
 * Delivers again, under the session's claim, a prompt an earlier run typed but Claude Code
 * never confirmed: unless the task is no longer this session's (done, requeued), the prompt
 * went in after all, or the session cannot take input now. After `dispatch.maxAttempts`
 * unconfirmed tries the task is released to the queue for another session.
 */
async function redeliver(
  ctx: Context,
  report: DispatchReport,
  state: State,
  now: Date,
  o: { run: ProjectRun; session: SessionConfig; record: Undelivered },
): Promise<void> {
  const { config } = ctx;
  const { run, session, record } = o;
  const note = (outcome: Redelivery['outcome'], reason: string | null): void => {
    report.redelivered.push({
      task: record.task,
      project: run.project.name,
      session: session.name,
      prompt: record.prompt,
      outcome,
      reason,
    });
  };
  const marker = run.markers.find((m) => m.taskId === record.task);
  if (record.project !== run.project.name || !marker || marker.session !== session.name) {
    await clearUndelivered(ctx, session.name, record.task);
    return note('dropped', 'the task is no longer in flight with this session');
  }
  const idle = await isSessionIdle(ctx, state, now, session.name, {
    mayHold: new Map([[session.name, record.task]]),
  });
  if (!idle.idle) return note('waiting', idle.reason);
  ensurePrivateDir(path.dirname(sessionClaimPath(config.stateDir, session.name)));
  const release = await tryLock(sessionClaimPath(config.stateDir, session.name), {
    staleAfter: config.lock.staleAfter,
  });
  if (!release) return note('waiting', 'another dispatch is handing it a task');
  try {
    const job: TaskPromptJob = {
      session,
      account: idle.account,
      task: { id: record.task, path: marker.taskPath },
      prompt: record.prompt,
      template:
        record.prompt === 'dispatch'
          ? config.dispatch.prompt
          : record.by === 'watch'
            ? config.watch.resumePrompt
            : config.swap.resumePrompt,
      by: 'dispatch',
    };
    const late = confirmationProbe(
      ctx,
      session,
      idle.account,
      { text: renderJob(job), fingerprint: record.fingerprint },
      Date.parse(record.since),
      ctx.state.read(),
    )();
    if (late) {
      await clearUndelivered(ctx, session.name, record.task);
      logEvent(ctx, 'task.delivered', {
        task: record.task,
        project: run.project.name,
        session: session.name,
        by: record.by,
        prompt: record.prompt,
        confirmedBy: late,
        late: true,
      });
      return note('confirmed-late', null);
    }
    if (record.tries >= config.dispatch.maxAttempts) {
      removeDispatchMarker(run.project.path, record.task);
      await clearUndelivered(ctx, session.name, record.task);
      await updateAgentStatus(run.project.path, session.name, (prev) =>
        prev && prev.task === record.task
          ? { ...prev, task: null, updatedAt: ctx.clock.now().toISOString() }
          : (prev ?? null),
      );
      const reason = `Claude Code never confirmed the prompt in ${record.tries} tries: back in the queue for any session`;
      logEvent(
        ctx,
        'task.released',
        { task: record.task, project: run.project.name, session: session.name, reason },
        'warn',
      );
      return note('released', reason);
    }
    const res = await sendTaskPrompt(ctx, job, record);
    if (res.ok) return note('delivered', null);
    report.errors.push({
      task: record.task,
      project: run.project.name,
      session: session.name,
      reason: res.reason,
      owed: true,
    });
    return note('undelivered', res.reason);
  } finally {
    await release();
  }
}

/**
 * Gives one session one task under its claim. Returns true when a task was delivered, a
 * string saying why the session was passed over, or false when there was nothing for it.
 */
async function handOut(
  ctx: Context,
  report: DispatchReport,
  run: ProjectRun,
  session: SessionConfig,
  idle: SessionIdleness,
): Promise<boolean | string> {
  const { config } = ctx;
  const project = run.project;
  const claimDir = path.dirname(sessionClaimPath(config.stateDir, session.name));
  ensurePrivateDir(claimDir);
  const release = await tryLock(sessionClaimPath(config.stateDir, session.name), {
    staleAfter: config.lock.staleAfter,
  });
  if (!release) return 'another dispatch is handing it a task';
  try {
    // A fresh look, under the claim: our scan may predate another dispatcher's hand-out.
    const held = liveMarkers(project.path).find((m) => m.session === session.name);
    if (held) return `it holds task ${held.taskId}`;
    if (readAgentStatus(project.path).sessions[session.name]?.state === 'working')
      return 'it is working (hooks)';
    for (;;) {
      const t = run.queue.next(session.name);
      if (!t) return false;
      const skip = (reason: string) =>
        report.skipped.push({ task: t.id, file: t.name, project: project.name, reason });
      const a = assignmentOf(run, session, t, idle);
      const dispatchedAt = ctx.clock.now().toISOString();
      if (
        !createDispatchMarker(project.path, t.id, {
          session: session.name,
          account: a.account,
          dispatchedAt,
          attempt: a.attempt,
        })
      ) {
        skip('another dispatch took it');
        continue;
      }
      // From here on this process holds the task: whatever happens, the marker is either
      // kept with a delivered prompt, or removed.
      if (!fs.existsSync(t.path)) {
        removeDispatchMarker(project.path, t.id);
        skip('it left the inbox meanwhile');
        continue;
      }
      let pin: string | null;
      try {
        pin = (await inspectTaskFile(t.path)).session;
        const problem = pin === null ? null : pinProblem(config, project.name, pin);
        if (problem) throw new TaskFileError(`front matter: session: ${problem}`);
      } catch (err) {
        if (err instanceof TaskFileError) {
          const moved = failTaskFile(ctx, project, t.id, err.reason, { by: 'dispatch' });
          if (moved?.by === 'us')
            report.failed.push({
              task: t.id,
              project: project.name,
              reason: err.reason,
              path: moved.path,
            });
        } else skip(`cannot read it: ${(err as Error).message.split('\n')[0]}`);
        removeDispatchMarker(project.path, t.id);
        continue;
      }
      if (pin !== null && pin !== session.name) {
        // Edited since the scan: leave it for its session.
        removeDispatchMarker(project.path, t.id);
        skip(`now pinned to ${pin}`);
        continue;
      }
      // Working before the prompt goes in: a fast agent's `task done` must come after this.
      await updateAgentStatus(project.path, session.name, (prev) => ({
        ...(prev ?? { claudeSessionId: null }),
        state: 'working',
        task: t.id,
        updatedAt: dispatchedAt,
      }));
      logEvent(ctx, 'task.dispatched', {
        task: t.id,
        project: project.name,
        session: session.name,
        account: a.account,
        attempt: a.attempt,
        priority: t.priority,
        path: t.path,
      });
      const delivered = await sendTaskPrompt(ctx, {
        session,
        account: a.account,
        task: { id: t.id, path: t.path },
        prompt: 'dispatch',
        template: config.dispatch.prompt,
        by: 'dispatch',
      });
      if (!delivered.ok) {
        report.errors.push({
          task: t.id,
          project: project.name,
          session: session.name,
          reason: delivered.reason,
          owed: delivered.typed,
        });
        if (delivered.typed) {
          // It may yet have gone in: the task stays in flight with this session, which is
          // idle at its prompt, and the next run delivers it again (see delivery.ts).
          await updateAgentStatus(project.path, session.name, (prev) => ({
            ...(prev ?? { claudeSessionId: null }),
            state: 'idle',
            task: t.id,
            updatedAt: ctx.clock.now().toISOString(),
          }));
          return `delivery not confirmed: ${delivered.reason}`;
        }
        // Nothing reached the agent: the hand-out is undone, and another idle session of
        // this run may take the task.
        removeDispatchMarker(project.path, t.id);
        await updateAgentStatus(project.path, session.name, (prev) =>
          prev && prev.task === t.id
            ? { ...prev, state: 'idle', task: null, updatedAt: ctx.clock.now().toISOString() }
            : (prev ?? null),
        );
        run.queue.giveBack(t.id);
        return `delivery failed: ${delivered.reason}`;
      }
      report.assignments.push(a);
      return true;
    }
  } finally {
    await release();
  }
}
