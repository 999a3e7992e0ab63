/**
 * Handing one idle session one task, under the session's claim (guard 2 in dispatch.ts's
 * header), and the per-project task queue a run hands out from.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { SessionConfig } from '../core/config.js';
import type { Context } from '../core/context.js';
import { logEvent } from '../core/events.js';
import { ensurePrivateDir } from '../core/fs-atomic.js';
import { tryLock } from '../core/lock.js';
import { inspectTaskFile, TaskFileError } from '../queue/front-matter.js';
import {
  createDispatchMarker,
  readTaskAttempts,
  removeDispatchMarker,
  type DispatchMarker,
} from '../queue/files.js';
import type { InboxScan, ScannedTask } from '../queue/scan.js';
import { readAgentStatus } from '../queue/status-file.js';
import { updateAgentStatus } from '../claude/signals.js';
import { liveMarkers, type SessionIdleness } from '../agents/idle.js';
import { failTaskFile } from '../tasks/finish.js';
import { pinProblem, type Project } from '../tasks/locate.js';
import { sendTaskPrompt } from './delivery.js';
import type { Assignment, DispatchReport } from './report.js';

/**
 * Takes the claim of `session` while a dispatcher hands it a task: a per-session lock,
 * `<stateDir>/dispatch/<session>.lock`, that goes stale when its dispatcher is killed.
 * Returns its release, or null when another dispatcher holds it.
 */
export async function claimSession(
  ctx: Context,
  session: string,
): Promise<(() => Promise<void>) | null> {
  const claim = path.join(ctx.config.stateDir, 'dispatch', session);
  ensurePrivateDir(path.dirname(claim));
  return tryLock(claim, { staleAfter: ctx.config.lock.staleAfter });
}

/** A project's pending tasks in order, each handed to at most one session per run. */
export class TaskQueue {
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

/** One project in a dispatch run: its scan, its queue of valid tasks, markers and sessions. */
export interface ProjectRun {
  project: Project;
  scan: InboxScan;
  queue: TaskQueue;
  markers: DispatchMarker[];
  sessions: SessionConfig[];
}

/** What handing task `t` to `session` would be: its account and attempt number. */
export function assignmentOf(
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
 * Gives one session one task under its claim. Returns true when a task was delivered, a
 * string saying why the session was passed over, or false when there was nothing for it.
 */
export async function handOut(
  ctx: Context,
  report: DispatchReport,
  run: ProjectRun,
  session: SessionConfig,
  idle: SessionIdleness,
): Promise<boolean | string> {
  const { config } = ctx;
  const project = run.project;
  const release = await claimSession(ctx, session.name);
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
      // When that cannot be written (a full disk), the hand-out is undone before anything
      // reaches the agent: no marker is left for a prompt that was never typed.
      try {
        await updateAgentStatus(project.path, session.name, (prev) => ({
          ...(prev ?? { claudeSessionId: null }),
          state: 'working',
          task: t.id,
          updatedAt: dispatchedAt,
        }));
      } catch (err) {
        removeDispatchMarker(project.path, t.id);
        run.queue.giveBack(t.id);
        throw err;
      }
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
