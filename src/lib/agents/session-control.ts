/** `session start|stop|list`: the configured sessions on the active account. */
import { setTimeout as sleep } from 'node:timers/promises';
import { readAgentStatus } from '../queue/status-file.js';
import { stopAgents } from './agent.js';
import {
  paneRunsAgent,
  sessionRunState,
  type PaneScreen,
  type SessionRunState,
} from './screens.js';
import type { Context } from '../core/context.js';
import { appendEvent } from '../core/events.js';
import { recordFirst, skipSecondaryWrite } from '../core/io-faults.js';
import { sessionState } from '../core/state-schema.js';
import type { PaneInfo } from '../core/tmux.js';
import {
  activeAccount,
  inheritedEnvNames,
  launchSession,
  resumableId,
  resumeIdFor,
  selectSessions,
  settleLaunch,
} from './sessions.js';

export interface StartResult {
  session: string;
  action: 'started' | 'running';
  account: string;
  resumeId: string | null;
  /** How the started agent ended up: ready, or a blocking screen, or dead. */
  screen?: PaneScreen | 'dead';
  /** When it was launched (ms epoch); internal. */
  at?: number;
  /** The conversation it reports running (see SettleResult); internal. */
  claudeSessionId?: string | null;
}

/**
 * Records, before anything is stopped or launched, that these sessions are to run (no longer
 * operator-stopped) and on which account, so that a run killed or failing halfway leaves
 * `watch` the right intent. A fault here throws, and nothing was done.
 */
export async function recordStartIntent(
  ctx: Context,
  names: readonly string[],
  launching: (name: string) => boolean = () => true,
): Promise<void> {
  const sessions = selectSessions(ctx, names);
  const current = ctx.state.read();
  const account = activeAccount(ctx, current);
  const recorded = sessions.every((s) => {
    const ss = current.sessions[s.name];
    return ss && !ss.stopped && (!launching(s.name) || ss.account === account);
  });
  // Already on record (the common `session start` of running sessions): nothing to write,
  // so a full disk does not fail a command that has nothing to do.
  if (recorded && current.activeAccount) return;
  await recordFirst(ctx.config.stateDir, 'no session was started or stopped', () =>
    ctx.state.update((st) => {
      const account = activeAccount(ctx, st);
      st.activeAccount ??= account;
      for (const s of sessions) {
        const ss = sessionState(st, s.name);
        ss.stopped = false;
        if (launching(s.name)) ss.account = account;
      }
    }),
  );
}

/** Starts the sessions that are not running; a running one is left alone. Staggered. */
export async function startSessions(
  ctx: Context,
  names: readonly string[],
  onProgress: (msg: string) => void = () => undefined,
): Promise<StartResult[]> {
  const sessions = selectSessions(ctx, names);
  const panes = await ctx.tmux.sessions();
  await recordStartIntent(ctx, names, (name) => !paneRunsAgent(panes.get(name)));
  const state = ctx.state.read();
  const account = activeAccount(ctx, state);
  const inherited = await inheritedEnvNames(ctx);
  const results: StartResult[] = [];
  let launched = 0;
  for (const s of sessions) {
    if (paneRunsAgent(panes.get(s.name))) {
      results.push({
        session: s.name,
        action: 'running',
        account: state.sessions[s.name]?.account ?? account,
        resumeId: resumeIdFor(ctx, s, state),
      });
      continue;
    }
    const resumeId = resumableId(ctx, s, account, resumeIdFor(ctx, s, state));
    if (launched > 0) await sleep(ctx.config.agent.launchStagger);
    onProgress(`starting ${s.name} on ${account}${resumeId ? ` (--resume ${resumeId})` : ''}`);
    const at = Date.now();
    await launchSession(ctx, s, account, resumeId, inherited);
    launched++;
    results.push({ session: s.name, action: 'started', account, resumeId, at });
  }
  // Wait for the agents in parallel: a start that ends at a login screen, or dies at once,
  // is reported rather than taken for a success.
  await Promise.all(
    results
      .filter((r) => r.action === 'started')
      .map(async (r) => {
        const s = sessions.find((x) => x.name === r.session)!;
        onProgress(`waiting for ${s.name}`);
        const settled = await settleLaunch(ctx, s, account, r.resumeId, inherited, r.at);
        r.screen = settled.screen;
        r.resumeId = settled.resumeId;
        r.claudeSessionId = settled.claudeSessionId;
        delete r.at;
      }),
  );
  const now = ctx.clock.now().toISOString();
  // The agents run and the intent is on record: the details (launch time, conversation) are
  // secondary. When they cannot be written, the hooks' status.json still has the
  // conversation, and the next start or swap records it.
  await ctx.state
    .update((st) => {
      st.activeAccount ??= account;
      for (const r of results) {
        const ss = sessionState(st, r.session);
        ss.stopped = false;
        if (r.action === 'started') {
          ss.account = r.account;
          ss.launchedAt = now;
          ss.degraded = false;
          const s = sessions.find((x) => x.name === r.session)!;
          ss.claudeSessionId =
            r.claudeSessionId ??
            readAgentStatus(s.projectPath).sessions[s.name]?.claudeSessionId ??
            ss.claudeSessionId;
        }
      }
    })
    .catch((err: unknown) => skipSecondaryWrite('state file', ctx.state.paths.file, err));
  for (const r of results) delete r.claudeSessionId;
  for (const r of results.filter((x) => x.action === 'started')) {
    appendEvent(
      ctx.config.stateDir,
      'session.started',
      { session: r.session, account: r.account, resume: r.resumeId, screen: r.screen ?? null },
      { level: r.screen === 'ready' ? 'info' : 'warn', now: ctx.clock.now() },
    );
  }
  return results;
}

export interface StopResult {
  session: string;
  action: 'graceful' | 'killed' | 'absent';
}

/**
 * Stops sessions in parallel, gracefully first. With `operator`, they are marked stopped
 * first, so `watch` leaves them alone until the next `session start`; when that mark cannot
 * be written, nothing is stopped.
 */
export async function stopSessions(
  ctx: Context,
  names: readonly string[],
  opts: { operator: boolean; onProgress?: (msg: string) => void },
): Promise<StopResult[]> {
  const sessions = selectSessions(ctx, names);
  if (opts.operator) {
    // Record, then act: a stop that cannot be recorded is not made, or the next `watch`
    // would restart what the operator stopped.
    await recordFirst(ctx.config.stateDir, 'no session was stopped', () =>
      ctx.state.update((st) => {
        for (const s of sessions) sessionState(st, s.name).stopped = true;
      }),
    );
  }
  opts.onProgress?.(`stopping ${sessions.map((s) => s.name).join(', ')}`);
  const how = await stopAgents(
    ctx.tmux,
    sessions.map((s) => s.name),
    ctx.config.agent.stopTimeout,
  );
  const results: StopResult[] = sessions.map((s) => ({
    session: s.name,
    action: how.get(s.name)!,
  }));
  for (const r of results.filter((x) => x.action !== 'absent')) {
    appendEvent(
      ctx.config.stateDir,
      'session.stopped',
      { session: r.session, how: r.action, operator: opts.operator },
      { now: ctx.clock.now() },
    );
  }
  return results;
}

export interface SessionListing {
  name: string;
  project: string;
  account: string | null;
  state: SessionRunState;
  pid: number | null;
  cwd: string | null;
  claudeSessionId: string | null;
  launchedAt: string | null;
  restarts: number;
}

export async function listSessions(
  ctx: Context,
  names: readonly string[],
): Promise<SessionListing[]> {
  const sessions = selectSessions(ctx, names);
  const state = ctx.state.read();
  const panes: Map<string, PaneInfo> = await ctx.tmux.sessions();
  const now = ctx.clock.now();
  return sessions.map((s) => {
    const st = state.sessions[s.name];
    const hook = readAgentStatus(s.projectPath).sessions[s.name];
    const pane = panes.get(s.name);
    return {
      name: s.name,
      project: s.project,
      account: st?.account ?? null,
      state: sessionRunState(st, pane, hook, now, ctx.config.agent.readyTimeout),
      pid: pane && !pane.dead ? pane.pid : null,
      cwd: pane && !pane.dead ? pane.currentPath || null : null,
      claudeSessionId: hook?.claudeSessionId ?? st?.claudeSessionId ?? null,
      launchedAt: st?.launchedAt ?? null,
      restarts: st?.restarts.length ?? 0,
    };
  });
}
