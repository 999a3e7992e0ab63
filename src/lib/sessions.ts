/** `session start|stop|restart|list`: the configured sessions on the active account. */
import { readAgentStatus } from './agent-status.js';
import { launch, planLaunch, stopAgent, tmuxGlobalEnvNames } from './agent.js';
import { defaultActiveAccount, type SessionConfig } from './config.js';
import type { Context } from './context.js';
import { UsageError } from './errors.js';
import { appendEvent } from './events.js';
import { sessionState, type State } from './state-schema.js';
import { paneRunsAgent, sessionRunState, type SessionRunState } from './status.js';
import type { PaneInfo } from './tmux.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The configured sessions named (all when none are); an unknown name is a usage error. */
export function selectSessions(ctx: Context, names: readonly string[]): SessionConfig[] {
  if (names.length === 0) return ctx.config.sessions;
  const byName = new Map(ctx.config.sessions.map((s) => [s.name, s]));
  const unknown = names.filter((n) => !byName.has(n));
  if (unknown.length) {
    throw new UsageError(
      `unknown session${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`,
      `configured: ${ctx.config.sessions.map((s) => s.name).join(', ') || '(none)'}`,
    );
  }
  return names.map((n) => byName.get(n)!);
}

export function activeAccount(ctx: Context, state: State): string {
  return state.activeAccount ?? defaultActiveAccount(ctx.config);
}

/**
 * The Claude session id to resume: what the SessionStart hook last reported (freshest),
 * else what the state file recorded.
 */
export function resumeIdFor(ctx: Context, session: SessionConfig, state: State): string | null {
  const fromHook = readAgentStatus(session.projectPath).sessions[session.name]?.claudeSessionId;
  return fromHook ?? state.sessions[session.name]?.claudeSessionId ?? null;
}

export interface StartResult {
  session: string;
  action: 'started' | 'running';
  account: string;
  resumeId: string | null;
}

/**
 * Launches one session now (the caller holds no lock: tmux is the slow part). The state
 * change is recorded by the caller.
 */
export async function launchSession(
  ctx: Context,
  session: SessionConfig,
  account: string,
  resumeId: string | null,
  inheritedEnv: string[],
): Promise<void> {
  // A dead pane kept by remain-on-exit would block the name.
  await ctx.tmux.killSession(session.name);
  const plan = planLaunch(ctx.config, session, account, resumeId, inheritedEnv, ctx.env);
  await launch(ctx.tmux, plan);
}

/** The names of inherited variables to strip: ours and the tmux server's. */
export async function inheritedEnvNames(ctx: Context): Promise<string[]> {
  return [...new Set([...Object.keys(ctx.env), ...(await tmuxGlobalEnvNames(ctx.tmux))])];
}

/** Starts the sessions that are not running; a running one is left alone. Staggered. */
export async function startSessions(
  ctx: Context,
  names: readonly string[],
  onProgress: (msg: string) => void = () => undefined,
): Promise<StartResult[]> {
  const sessions = selectSessions(ctx, names);
  const state = ctx.state.read();
  const account = activeAccount(ctx, state);
  const panes = await ctx.tmux.sessions();
  const inherited = await inheritedEnvNames(ctx);
  const results: StartResult[] = [];
  let launched = 0;
  for (const s of sessions) {
    const resumeId = resumeIdFor(ctx, s, state);
    if (paneRunsAgent(panes.get(s.name))) {
      results.push({
        session: s.name,
        action: 'running',
        account: state.sessions[s.name]?.account ?? account,
        resumeId,
      });
      continue;
    }
    if (launched > 0) await sleep(ctx.config.agent.launchStagger);
    onProgress(`starting ${s.name} on ${account}${resumeId ? ` (--resume ${resumeId})` : ''}`);
    await launchSession(ctx, s, account, resumeId, inherited);
    launched++;
    results.push({ session: s.name, action: 'started', account, resumeId });
  }
  const now = ctx.clock.now().toISOString();
  await ctx.state.update((st) => {
    st.activeAccount ??= account;
    for (const r of results) {
      const ss = sessionState(st, r.session);
      ss.stopped = false;
      if (r.action === 'started') {
        ss.account = r.account;
        ss.launchedAt = now;
        ss.degraded = false;
        if (r.resumeId) ss.claudeSessionId = r.resumeId;
      }
    }
  });
  for (const r of results.filter((x) => x.action === 'started')) {
    appendEvent(
      ctx.config.stateDir,
      'session.started',
      { session: r.session, account: r.account, resume: r.resumeId },
      { now: ctx.clock.now() },
    );
  }
  return results;
}

export interface StopResult {
  session: string;
  action: 'graceful' | 'killed' | 'absent';
}

/**
 * Stops sessions in parallel, gracefully first. With `operator`, they are marked stopped so
 * `watch` leaves them alone until the next `session start`.
 */
export async function stopSessions(
  ctx: Context,
  names: readonly string[],
  opts: { operator: boolean; onProgress?: (msg: string) => void },
): Promise<StopResult[]> {
  const sessions = selectSessions(ctx, names);
  const results = await Promise.all(
    sessions.map(async (s) => {
      opts.onProgress?.(`stopping ${s.name}`);
      return {
        session: s.name,
        action: await stopAgent(ctx.tmux, s.name, ctx.config.agent.stopTimeout),
      };
    }),
  );
  if (opts.operator) {
    await ctx.state.update((st) => {
      for (const r of results) sessionState(st, r.session).stopped = true;
    });
  }
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
