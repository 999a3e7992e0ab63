/**
 * `watch`, the watchdog: restarts dead agents with `--resume`, gives up on a crash loop
 * (degraded), and reports a session that stays working without transcript growth (stuck).
 */
import fs from 'node:fs';
import { readAgentStatus } from './agent-status.js';
import { NO_CONVERSATION_RE } from './agent.js';
import type { Context } from './context.js';
import { appendEvent } from './events.js';
import { activeAccount, inheritedEnvNames, launchSession, resumeIdFor } from './sessions.js';
import { updateAgentStatus } from './signals.js';
import { sessionState } from './state-schema.js';
import { paneRunsAgent } from './status.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface WatchAction {
  session: string;
  action: 'restarted' | 'restarted-fresh' | 'degraded' | 'stuck' | 'dead' | 'ok' | 'skipped';
  detail?: string;
}

/** How long a relaunched agent is watched for an immediate exit (the missing-transcript case). */
export const EARLY_EXIT_MS = 2500;

export async function runWatch(ctx: Context): Promise<WatchAction[]> {
  const { config } = ctx;
  const now = ctx.clock.now();
  const state = ctx.state.read();
  const account = activeAccount(ctx, state);
  const panes = await ctx.tmux.sessions();
  const actions: WatchAction[] = [];
  const toRestart: Array<{ name: string; resumeId: string | null; reason: string }> = [];
  const stuckNow: string[] = [];
  const event = (
    name: string,
    fields: Record<string, unknown>,
    level: 'info' | 'warn' | 'error' = 'info',
  ) => appendEvent(config.stateDir, name, fields, { level, now });

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
        const transcript =
          (hook as { transcriptPath?: string }).transcriptPath ?? st.transcriptPath;
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
            event(
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
    let lines: string[] = [];
    if (pane) lines = await ctx.tmux.capturePane(s.name, 40).catch(() => []);
    const missing = NO_CONVERSATION_RE.exec(lines.join('\n'));
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
    const resumeId = missing ? null : resumeIdFor(ctx, s, state);
    if (missing) {
      event(
        'session.resume-missing',
        {
          session: s.name,
          claudeSessionId: missing[1],
          detail: 'the transcript was not found; starting a fresh conversation',
        },
        'warn',
      );
    }
    toRestart.push({ name: s.name, resumeId, reason });
  }

  const inherited = toRestart.length ? await inheritedEnvNames(ctx) : [];
  const restarted: Array<{
    name: string;
    resumeId: string | null;
    fresh: boolean;
    reason: string;
  }> = [];
  for (const [i, r] of toRestart.entries()) {
    if (i > 0) await sleep(config.agent.launchStagger);
    const s = config.sessions.find((x) => x.name === r.name)!;
    await launchSession(ctx, s, account, r.resumeId, inherited);
    restarted.push({ ...r, fresh: r.resumeId === null });
  }
  // An agent that exits at once saying the conversation is gone is started fresh right away,
  // instead of looping on a --resume that can never work.
  if (restarted.some((r) => !r.fresh)) {
    await sleep(EARLY_EXIT_MS);
    const after = await ctx.tmux.sessions();
    for (const r of restarted.filter((x) => !x.fresh)) {
      if (paneRunsAgent(after.get(r.name))) continue;
      const lines = await ctx.tmux.capturePane(r.name, 40).catch(() => []);
      const missing = NO_CONVERSATION_RE.exec(lines.join('\n'));
      if (!missing) continue;
      event(
        'session.resume-missing',
        {
          session: r.name,
          claudeSessionId: missing[1],
          detail: 'the transcript was not found; starting a fresh conversation',
        },
        'warn',
      );
      const s = config.sessions.find((x) => x.name === r.name)!;
      await launchSession(ctx, s, account, null, inherited);
      r.fresh = true;
    }
  }

  const degraded = actions.filter((a) => a.action === 'degraded').map((a) => a.session);
  const nowIso = now.toISOString();
  if (restarted.length || degraded.length || stuckNow.length) {
    await ctx.state.update((st) => {
      for (const r of restarted) {
        const ss = sessionState(st, r.name);
        ss.restarts = [
          ...ss.restarts.filter((t) => Date.parse(t) >= now.getTime() - config.watch.restartWindow),
          nowIso,
        ];
        ss.launchedAt = nowIso;
        ss.account = account;
        if (r.fresh) ss.claudeSessionId = null;
      }
      for (const name of degraded) sessionState(st, name).degraded = true;
      for (const name of stuckNow) sessionState(st, name).stuckReportedAt = nowIso;
    });
  }
  for (const r of restarted.filter((x) => x.fresh)) {
    // Forget the lost id, so the next run does not try to resume it again.
    const s = config.sessions.find((x) => x.name === r.name)!;
    await updateAgentStatus(s.projectPath, r.name, (prev) =>
      prev ? { ...prev, claudeSessionId: null } : null,
    );
  }
  for (const r of restarted) {
    actions.push({
      session: r.name,
      action: r.fresh ? 'restarted-fresh' : 'restarted',
      detail: r.reason,
    });
    event(
      'session.restarted',
      { session: r.name, account, resume: r.resumeId, fresh: r.fresh, reason: r.reason },
      'warn',
    );
  }
  for (const name of degraded) {
    event(
      'session.degraded',
      { session: name, maxRestarts: config.watch.maxRestarts, window: config.watch.restartWindow },
      'error',
    );
  }
  return actions;
}
