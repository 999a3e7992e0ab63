/**
 * `dispatch`: hands inbox tasks to idle sessions, at least once and never twice at the same
 * time (the README's "Task queue" section). This file is the run: scan, redeliver what is
 * owed (redeliver.ts), judge the sessions, hand out (hand-out.ts), explain what waits.
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
import type { Context } from '../core/context.js';
import { liveMarkers, sessionIdleness } from '../agents/idle.js';
import { scanInbox, type ScannedTask } from '../queue/scan.js';
import { failTaskFile } from '../tasks/finish.js';
import { pinProblem } from '../tasks/locate.js';
import { ioFaultError, type IoFaultError } from '../core/io-faults.js';
import { assignmentOf, handOut, TaskQueue, type ProjectRun } from './hand-out.js';
import { redeliver } from './redeliver.js';
import type { DispatchReport } from './report.js';

interface DispatchOptions {
  /** Plan only: no marker, no prompt, no status change, no move (the scan cache is kept). */
  dryRun?: boolean;
  /** Only these projects (default: all). */
  projects?: readonly string[];
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
    const faults: IoFaultError[] = [];
    await Promise.all(
      work.map(async ({ run, session }) => {
        let outcome: boolean | string;
        try {
          outcome = await handOut(ctx, report, run, session, idleness.get(session.name)!);
        } catch (err) {
          // A full disk or a read-only directory: this session's hand-out did nothing (see
          // handOut); the others go on, and the fault is reported once.
          const fault = ioFaultError(err, { stateDir: config.stateDir });
          if (!fault) throw err;
          faults.push(fault);
          outcome = `skipped: ${fault.message}`;
        }
        if (outcome === true) gotTask.add(session.name);
        else if (typeof outcome === 'string') {
          passed.set(session.name, outcome);
          report.passed.push({ session: session.name, reason: outcome });
        }
      }),
    );
    // Nothing handed out because nothing could be written: the run did nothing, and says so.
    if (faults.length && gotTask.size === 0) throw faults[0];
    for (const message of new Set(faults.map((f) => f.message))) report.warnings.push(message);
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
