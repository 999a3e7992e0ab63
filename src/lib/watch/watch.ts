/**
 * `watch`, the watchdog: restarts dead agents with `--resume`, gives up on a crash loop
 * (degraded), and reports a session that stays working without transcript growth (stuck).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import fs from 'node:fs';
import { readAgentStatus } from '../queue/status-file.js';
import type { Context } from '../core/context.js';
import { swapInProgress } from '../accounts/condition.js';
import { taskInFlight } from '../agents/checkpoint.js';
import { owePrompt, sendTaskPrompt, type TaskPromptJob } from '../dispatch/delivery.js';
import { notifyEvent } from '../notify/index.js';
import {
  activeAccount,
  inheritedEnvNames,
  launchSession,
  resumableId,
  resumeIdFor,
  settleLaunch,
} from '../agents/sessions.js';
import { updateAgentStatus } from '../claude/signals.js';
import { sessionState } from '../core/state-schema.js';
import { recordFirst, skipSecondaryWrite } from '../core/io-faults.js';
import { paneRunsAgent } from '../agents/screens.js';

export interface WatchAction {
  session: string;
  action: 'restarted' | 'restarted-fresh' | 'degraded' | 'stuck' | 'dead' | 'ok' | 'skipped';
  detail?: string;
}

export async function runWatch(ctx: Context): Promise<WatchAction[]> {
  const { config } = ctx;
  const now = ctx.clock.now();
  const state = ctx.state.read();
  const account = activeAccount(ctx, state);
  const panes = await ctx.tmux.sessions();
  const actions: WatchAction[] = [];
  const toRestart: Array<{
    name: string;
    resumeId: string | null;
    lostId: string | null;
    reason: string;
  }> = [];
  const stuckNow: string[] = [];

  // A swap stops and relaunches sessions on purpose: restarting them under its feet would
  // undo it. (A swap killed mid-way is carried forward by the next swap or quota check.)
  if (swapInProgress(state)) {
    return config.sessions.map((s) => ({
      session: s.name,
      action: 'skipped' as const,
      detail: 'swap in progress',
    }));
  }
  for (const s of config.sessions) {
    const st = state.sessions[s.name];
    if (!st?.launchedAt) continue; // never started: not watch's business
    if (st.stopped) {
      actions.push({ session: s.name, action: 'skipped', detail: 'stopped by the operator' });
      continue;
    }
    if (st.degraded) {
      actions.push({ session: s.name, action: 'skipped', detail: 'degraded' });
      continue;
    }
    const pane = panes.get(s.name);
    if (paneRunsAgent(pane)) {
      // Stuck: working, yet neither the hooks nor the transcript moved for stuckAfter.
      const hook = readAgentStatus(s.projectPath).sessions[s.name];
      if (hook?.state === 'working') {
        const transcript = hook.transcriptPath ?? st.transcriptPath;
        let lastMove = hook.updatedAt ? Date.parse(hook.updatedAt) : 0;
        if (transcript) {
          try {
            lastMove = Math.max(lastMove, fs.statSync(transcript).mtimeMs);
          } catch {
            // no transcript yet
          }
        }
        const stuckReported = st.stuckReportedAt;
        if (lastMove && now.getTime() - lastMove > config.watch.stuckAfter) {
          if (!stuckReported || Date.parse(stuckReported) < lastMove) {
            stuckNow.push(s.name);
            await notifyEvent(
              ctx,
              'session.stuck',
              { session: s.name, since: new Date(lastMove).toISOString(), task: hook.task },
              'warn',
            );
          }
          actions.push({ session: s.name, action: 'stuck' });
          continue;
        }
      }
      actions.push({ session: s.name, action: 'ok' });
      continue;
    }
    // Dead: no tmux session, a dead pane, or the shell is back in the foreground.
    const reason = !pane
      ? 'no tmux session'
      : pane.dead
        ? `pane dead (exit ${pane.deadStatus ?? '?'})`
        : `back at ${pane.currentCommand}`;
    if (!config.watch.restart) {
      actions.push({ session: s.name, action: 'dead', detail: reason });
      continue;
    }
    const windowStart = now.getTime() - config.watch.restartWindow;
    const recent = st.restarts.filter((t) => Date.parse(t) >= windowStart);
    if (recent.length >= config.watch.maxRestarts) {
      actions.push({
        session: s.name,
        action: 'degraded',
        detail: `${recent.length} restarts within the window`,
      });
      continue;
    }
    const known = resumeIdFor(ctx, s, state);
    const resumeId = resumableId(ctx, s, account, known);
    toRestart.push({ name: s.name, resumeId, lostId: resumeId ? null : known, reason });
  }

  // Record, then act: each restart is counted (crash loops), and the new launch and account
  // are on record, before any agent is launched. When that cannot be written, no agent is
  // restarted: the running ones keep running, and the next run tries again.
  const degraded = actions.filter((a) => a.action === 'degraded').map((a) => a.session);
  const nowIso = now.toISOString();
  if (toRestart.length || degraded.length || stuckNow.length) {
    await recordFirst(config.stateDir, 'no agent was restarted', () =>
      ctx.state.update((st) => {
        for (const r of toRestart) {
          const ss = sessionState(st, r.name);
          ss.restarts = [
            ...ss.restarts.filter(
              (t) => Date.parse(t) >= now.getTime() - config.watch.restartWindow,
            ),
            nowIso,
          ];
          ss.launchedAt = nowIso;
          ss.account = account;
        }
        for (const name of degraded) sessionState(st, name).degraded = true;
        for (const name of stuckNow) sessionState(st, name).stuckReportedAt = nowIso;
      }),
    );
  }
  const inherited = toRestart.length ? await inheritedEnvNames(ctx) : [];
  // Launches are staggered (sessions started together clobber .claude.json); then every
  // relaunched agent is watched until it is ready. One that exits at once because its
  // conversation is gone is started fresh right away instead of looping on --resume.
  const launched: Array<(typeof toRestart)[number] & { at: number }> = [];
  for (const [i, r] of toRestart.entries()) {
    if (i > 0) await sleep(config.agent.launchStagger);
    const s = config.sessions.find((x) => x.name === r.name)!;
    const at = Date.now();
    await launchSession(ctx, s, account, r.resumeId, inherited);
    launched.push({ ...r, at });
  }
  const restarted = await Promise.all(
    launched.map(async (r) => {
      const s = config.sessions.find((x) => x.name === r.name)!;
      const settled = await settleLaunch(ctx, s, account, r.resumeId, inherited, r.at);
      // A task in flight (its marker, or the latest checkpoint) is picked up again: resumed
      // with watch.resumePrompt, or from the top with dispatch.prompt when the conversation
      // was lost. One Claude Code does not confirm stays owed (see delivery.ts).
      let reprompted: string | null = null;
      const task = settled.screen !== 'dead' ? taskInFlight(config.stateDir, s) : null;
      if (task) {
        const resumed = settled.resumeId !== null;
        const job: TaskPromptJob = {
          session: s,
          account,
          task,
          prompt: resumed ? 'resume' : 'dispatch',
          template: resumed ? config.watch.resumePrompt : config.dispatch.prompt,
          by: 'watch',
        };
        if (settled.screen !== 'ready')
          await owePrompt(ctx, job, `the agent is not ready (${settled.screen})`);
        else if ((await sendTaskPrompt(ctx, job)).ok) reprompted = task.id;
      }
      const lostId = settled.lostId ?? r.lostId;
      return {
        ...r,
        reprompted,
        fresh: settled.resumeId === null,
        lostId,
        // The conversation the agent reports: a fresh one's id, or the copy Claude Code made.
        newId:
          settled.claudeSessionId && settled.claudeSessionId !== lostId
            ? settled.claudeSessionId
            : null,
        screen: settled.screen,
      };
    }),
  );

  const renamed = restarted.filter((r) => r.fresh || r.newId);
  if (renamed.length) {
    // Secondary: the hooks' status.json has the new conversation too.
    await ctx.state
      .update((st) => {
        for (const r of renamed) sessionState(st, r.name).claudeSessionId = r.newId;
      })
      .catch((err: unknown) => skipSecondaryWrite('state file', ctx.state.paths.file, err));
  }
  for (const r of restarted.filter((x) => x.lostId)) {
    // Replace the lost id (unless the new agent already reported its own) with the one its
    // SessionStart signal gave, so the next run does not try to resume the lost one. The
    // hook writes it too, but that write is best effort and may lose its lock race.
    const s = config.sessions.find((x) => x.name === r.name)!;
    // Best effort: a busy status.json must not fail the watchdog.
    await updateAgentStatus(s.projectPath, r.name, (prev) =>
      prev && prev.claudeSessionId === r.lostId
        ? { ...prev, claudeSessionId: r.newId }
        : (prev ?? null),
    ).catch(() => undefined);
  }
  for (const r of restarted) {
    actions.push({
      session: r.name,
      action: r.fresh ? 'restarted-fresh' : 'restarted',
      detail: r.screen === 'ready' ? r.reason : `${r.reason}; agent not ready: ${r.screen}`,
    });
    await notifyEvent(
      ctx,
      'session.restarted',
      {
        session: r.name,
        account,
        resume: r.fresh ? null : r.resumeId,
        lostId: r.lostId,
        fresh: r.fresh,
        reason: r.reason,
        task: r.reprompted,
      },
      'warn',
    );
  }
  for (const name of degraded) {
    await notifyEvent(
      ctx,
      'session.degraded',
      { session: name, maxRestarts: config.watch.maxRestarts, window: config.watch.restartWindow },
      'error',
    );
  }
  return actions;
}
