/** The `status` report (README: Commands), built from config, state, tmux and the queues. */
import { readAgentStatus, type AgentStatus } from '../queue/status-file.js';
import { defaultActiveAccount } from '../core/config.js';
import type { Context } from '../core/context.js';
import { accountCondition, type AccountCondition } from '../accounts/condition.js';
import { countQueue, listDispatchMarkers, type QueueCounts } from '../queue/files.js';
import type { AccountUsage } from '../claude/signals.js';
import type { AccountState, State, SwapRecord } from '../core/state-schema.js';
import type { PaneInfo } from '../core/tmux.js';
import { sessionRunState, type SessionRunState } from '../agents/screens.js';
import { triggersReport, type TriggersReport } from '../core/triggers.js';

export type AccountStatus = 'available' | 'exhausted' | 'auth-error' | 'disabled';

export interface StatusReport {
  now: string;
  activeAccount: string;
  cooldownUntil: string | null;
  accounts: Array<{
    name: string;
    priority: number;
    status: AccountStatus;
    exhaustedUntil: string | null;
    usage: AccountUsage | AccountState['usage'];
    /** The highest live usage of the 5 h and 7 d windows, in percent. */
    usedPercent: number | null;
    /** Over quota.drainAt: no new tasks go to it. */
    draining: boolean;
  }>;
  sessions: Array<{
    name: string;
    project: string;
    account: string | null;
    state: SessionRunState;
    task: string | null;
    claudeSessionId: string | null;
    restarts: number;
    lastSeenAt: string | null;
  }>;
  queues: Array<{ project: string } & QueueCounts>;
  lastSwap: SwapRecord | null;
  /** The hooks' triggers: on or off, and each kind's runs (README: Triggers). */
  triggers: TriggersReport;
  warnings: string[];
}

/** The `status` of an account (available, exhausted, auth-error, disabled), from what it can do now. */
function accountStatus(c: AccountCondition): AccountStatus {
  if (!c.enabled) return 'disabled';
  if (c.authError) return 'auth-error';
  if (c.exhausted) return 'exhausted';
  return 'available';
}

/** Builds the report. Reads state without the lock: writes are atomic renames. */
export async function buildStatus(ctx: Context): Promise<StatusReport> {
  const { config } = ctx;
  const now = ctx.clock.now();
  const warnings: string[] = [];
  const state: State = ctx.state.read();
  const panes = await ctx.tmux.sessions().catch((err: Error) => {
    warnings.push(`tmux: ${err.message}`);
    return new Map<string, PaneInfo>();
  });

  const hooks = new Map<string, AgentStatus>();
  for (const p of config.projects)
    hooks.set(
      p.name,
      readAgentStatus(p.path, (m) => warnings.push(m)),
    );

  const accounts = config.accounts.map((a) => {
    const cond = accountCondition(config, state, a.name, now);
    return {
      name: a.name,
      priority: a.priority,
      status: accountStatus(cond),
      exhaustedUntil: state.accounts[a.name]?.exhaustedUntil ?? null,
      usage: cond.usage,
      usedPercent: cond.usedPercent,
      draining: cond.draining,
    };
  });
  const journal = state.swapJournal;
  if (journal && journal.step !== 'done')
    warnings.push(
      `swap ${journal.from} -> ${journal.to} in progress (step ${journal.step}, started ${journal.startedAt})`,
    );
  if (state.pendingSwap)
    warnings.push(
      `swap requested off ${state.pendingSwap.account}: ${state.pendingSwap.reason}${state.pendingSwap.proactive ? ' (waits for idle sessions)' : ''}`,
    );
  if (accounts.every((a) => a.status !== 'available')) warnings.push('no account is available');

  // A dispatched task is known from its marker even without hooks.
  const taskBySession = new Map<string, string>();
  for (const p of config.projects)
    for (const m of listDispatchMarkers(p.path, (msg) => warnings.push(msg)))
      taskBySession.set(m.session, m.taskId);
  const sessions = config.sessions.map((s) => {
    const st = state.sessions[s.name];
    const hook = hooks.get(s.project)?.sessions[s.name];
    return {
      name: s.name,
      project: s.project,
      account: st?.account ?? null,
      state: sessionRunState(st, panes.get(s.name), hook, now, config.agent.readyTimeout),
      task: taskBySession.get(s.name) ?? hook?.task ?? null,
      claudeSessionId: st?.claudeSessionId ?? hook?.claudeSessionId ?? null,
      restarts: st?.restarts.length ?? 0,
      lastSeenAt: st?.lastSeenAt ?? null,
    };
  });

  for (const s of config.sessions) {
    const u = state.sessions[s.name]?.undelivered;
    if (u)
      warnings.push(
        `${s.name}: the ${u.prompt} prompt of task ${u.task} is not confirmed by Claude Code (${u.tries} ${u.tries === 1 ? 'try' : 'tries'} since ${u.since}); the next dispatch delivers it again`,
      );
  }
  const queues = config.projects.map((p) => ({ project: p.name, ...countQueue(p.path) }));
  for (const name of config.missingEnv) warnings.push(`config: \${${name}} is not set`);
  if (config.sessions.length === 0) warnings.push('no sessions are configured');
  const triggers = triggersReport(config);
  for (const kind of ['limit', 'idle'] as const) {
    const t = triggers[kind];
    if (t.last && t.lastFailed)
      warnings.push(
        `the last ${kind} trigger run failed (exit ${t.last.exitCode}): ${t.last.error ?? t.last.summary}; see ${triggers.log}`,
      );
  }

  const cooldownUntil =
    state.cooldownUntil && Date.parse(state.cooldownUntil) > now.getTime()
      ? state.cooldownUntil
      : null;
  return {
    now: now.toISOString(),
    activeAccount: state.activeAccount ?? defaultActiveAccount(config),
    cooldownUntil,
    accounts,
    sessions,
    queues,
    lastSwap: state.lastSwap,
    triggers,
    warnings,
  };
}
