/**
 * Owed prompts: a prompt an earlier run typed that Claude Code never confirmed (delivery.ts
 * records it in state.json as `undelivered`) is delivered again by the next dispatch run.
 */
import type { SessionConfig } from '../core/config.js';
import type { Context } from '../core/context.js';
import { logEvent } from '../core/events.js';
import type { State, Undelivered } from '../core/state-schema.js';
import { removeDispatchMarker } from '../queue/files.js';
import { updateAgentStatus } from '../claude/signals.js';
import { isSessionIdle } from '../agents/idle.js';
import {
  clearUndelivered,
  confirmationProbe,
  renderJob,
  sendTaskPrompt,
  type TaskPromptJob,
} from './delivery.js';
import { claimSession, type ProjectRun } from './hand-out.js';
import type { DispatchReport, Redelivery } from './report.js';

/**
 * Delivers again, under the session's claim, a prompt an earlier run typed but Claude Code
 * never confirmed: unless the task is no longer this session's (done, requeued), the prompt
 * went in after all, or the session cannot take input now. After `dispatch.maxAttempts`
 * unconfirmed tries the task is released to the queue for another session.
 */
export async function redeliver(
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
  const release = await claimSession(ctx, session.name);
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
