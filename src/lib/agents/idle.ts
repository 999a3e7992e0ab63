/**
 * Whether a session can take a task now (README: Task queue): its agent is alive, the hooks'
 * `status.json` says idle (or, without hooks, the pane shows the empty prompt and no "esc to
 * interrupt"), it holds no undone dispatched task, and its account accepts work (neither
 * exhausted, in auth error, draining, disabled, nor in the middle of a swap or about to be
 * swapped away from). Dispatch, swap (its idle moment) and tick all ask here.
 */
import fs from 'node:fs';
import { acceptsWork, accountCondition, type AccountCondition } from '../accounts/condition.js';
import { readAgentStatus, type AgentStatus } from '../queue/status-file.js';
import { readScreen } from './screens.js';
import type { SessionConfig } from '../core/config.js';
import type { Context } from '../core/context.js';
import { listDispatchMarkers, type DispatchMarker } from '../queue/files.js';
import { activeAccount } from './sessions.js';
import type { State } from '../core/state-schema.js';
import { paneRunsAgent } from './screens.js';
import type { PaneInfo } from '../core/tmux.js';

export interface SessionIdleness {
  session: string;
  project: string;
  /** The account its agent runs on (the state's record, else the hooks', else the active one). */
  account: string;
  idle: boolean;
  /** Why it cannot take a task; null when idle. */
  reason: string | null;
  /** What said it is idle or working: the hooks' status.json or the pane; null before that. */
  source: 'hooks' | 'pane' | null;
  /** The undone task it holds (an inbox marker naming it), if any. */
  task: string | null;
}

export interface IdleInputs {
  /** Only these sessions (default: every configured one). */
  sessions?: readonly SessionConfig[];
  /** `tmux.sessions()`, when the caller has it already. */
  panes?: Map<string, PaneInfo>;
  /** Each project's live markers by project path (see `liveMarkers`). */
  markers?: Map<string, DispatchMarker[]>;
  /** Each project's status.json by project path. */
  statuses?: Map<string, AgentStatus>;
  /**
   * Also look at the pane of a session the hooks call idle, and refuse it when the pane shows
   * a turn running ("esc to interrupt") or a blocking screen. Default true. The pane is always
   * read for a session without a hooks entry.
   */
  paneCheck?: boolean;
  /** Pane lines to read (default 20). */
  paneLines?: number;
  /**
   * Whether the account must take work (default true). Swap's "idle moment" asks with false:
   * the account it waits to leave is the very one that no longer takes work.
   */
  accountCheck?: boolean;
  /**
   * A task each named session may hold and still count as idle: the one whose prompt is
   * being delivered again (see delivery.ts).
   */
  mayHold?: ReadonlyMap<string, string>;
}

/**
 * The markers of a project's inbox whose task file is still there: the tasks handed out and
 * not yet done. A marker left behind by an interrupted `task done` (its task already moved)
 * holds nobody; the janitor clears it.
 */
export function liveMarkers(
  projectPath: string,
  onInvalid?: (msg: string) => void,
): DispatchMarker[] {
  return listDispatchMarkers(projectPath, onInvalid).filter((m) => fs.existsSync(m.taskPath));
}

function accountReason(c: AccountCondition, configured: boolean): string | null {
  if (!configured) return `account ${c.name} is not configured`;
  if (!c.enabled) return `account ${c.name} is disabled`;
  if (c.exhausted) return `account ${c.name} is exhausted until ${c.exhaustedUntil}`;
  if (c.authError) return `account ${c.name} is in auth error`;
  if (c.midSwap) return `account ${c.name} is in the middle of a swap`;
  if (c.draining)
    return `account ${c.name} is draining (usage ${Math.round(c.usedPercent ?? 0)}% >= quota.drainAt)`;
  return acceptsWork(c) ? null : `account ${c.name} does not accept work`;
}

/** The accounts a session's agent may be running on: what the state and the hooks say. */
function sessionAccounts(
  ctx: Context,
  state: State,
  session: SessionConfig,
  status?: AgentStatus,
): string[] {
  const fromState = state.sessions[session.name]?.account ?? null;
  const fromHook = status?.sessions[session.name]?.account ?? null;
  const named = [...new Set([fromState, fromHook].filter((a): a is string => Boolean(a)))];
  return named.length ? named : [activeAccount(ctx, state)];
}

/**
 * The idleness of each session (all configured ones, or `inputs.sessions`), with the first
 * reason that rules it out. Reads tmux once, each project's status.json and markers once,
 * and the pane only of sessions that passed every cheaper check.
 */
export async function sessionIdleness(
  ctx: Context,
  state: State,
  now: Date,
  inputs: IdleInputs = {},
): Promise<SessionIdleness[]> {
  const sessions = inputs.sessions ?? ctx.config.sessions;
  const panes = inputs.panes ?? (await ctx.tmux.sessions());
  const statuses = inputs.statuses ?? new Map<string, AgentStatus>();
  const markers = inputs.markers ?? new Map<string, DispatchMarker[]>();
  const statusOf = (p: string) => {
    let s = statuses.get(p);
    if (!s) statuses.set(p, (s = readAgentStatus(p)));
    return s;
  };
  const markersOf = (p: string) => {
    let m = markers.get(p);
    if (!m) markers.set(p, (m = liveMarkers(p)));
    return m;
  };
  const accounts = new Map<string, string | null>();
  const reasonOfAccount = (name: string) => {
    if (!accounts.has(name)) {
      const configured = ctx.config.accounts.some((a) => a.name === name);
      let reason = accountReason(accountCondition(ctx.config, state, name, now), configured);
      if (!reason && state.pendingSwap?.account === name)
        reason = `a swap away from account ${name} is pending`;
      accounts.set(name, reason);
    }
    return accounts.get(name) ?? null;
  };
  const paneCheck = inputs.paneCheck ?? true;
  const lines = inputs.paneLines ?? 20;

  return Promise.all(
    sessions.map(async (s): Promise<SessionIdleness> => {
      const status = statusOf(s.projectPath);
      const names = sessionAccounts(ctx, state, s, status);
      const r: SessionIdleness = {
        session: s.name,
        project: s.project,
        account: names[0]!,
        idle: false,
        reason: null,
        source: null,
        task: null,
      };
      const no = (reason: string) => ({ ...r, reason });
      const st = state.sessions[s.name];
      if (st?.stopped) return no('stopped by the operator');
      if (st?.degraded) return no('degraded (it kept crashing)');
      const pane = panes.get(s.name);
      if (!pane) return no('no tmux session');
      if (!paneRunsAgent(pane))
        return no(pane.dead ? 'its agent exited (dead pane)' : `back at ${pane.currentCommand}`);
      const held = markersOf(s.projectPath).find((m) => m.session === s.name);
      if (held && inputs.mayHold?.get(s.name) !== held.taskId)
        return { ...no(`holds task ${held.taskId}`), task: held.taskId };
      if (inputs.accountCheck ?? true)
        for (const a of names) {
          const why = reasonOfAccount(a);
          if (why) return no(why);
        }
      const hook = status.sessions[s.name];
      if (hook?.state === 'working')
        return { ...no('working (hooks)'), source: 'hooks' as const, task: hook.task };
      const source = hook ? ('hooks' as const) : ('pane' as const);
      if (hook && !paneCheck) return { ...r, idle: true, source };
      let screen;
      try {
        screen = readScreen(await ctx.tmux.capturePane(s.name, lines));
      } catch (err) {
        return no(`cannot read its pane: ${(err as Error).message.split('\n')[0]}`);
      }
      if (screen === 'working') return { ...no('working (the pane shows a turn running)'), source };
      if (screen !== 'ready' && screen !== 'unknown')
        return { ...no(`waiting at the ${screen} screen`), source };
      // Without hooks, only a visible empty prompt counts as idle.
      if (!hook && screen !== 'ready') return { ...no('the pane shows no prompt'), source };
      return { ...r, idle: true, source };
    }),
  );
}

/** One session's idleness by name (see `sessionIdleness`); throws for an unknown name. */
export async function isSessionIdle(
  ctx: Context,
  state: State,
  now: Date,
  name: string,
  inputs: Omit<IdleInputs, 'sessions'> = {},
): Promise<SessionIdleness> {
  const session = ctx.config.sessions.find((s) => s.name === name);
  if (!session) throw new Error(`unknown session '${name}'`);
  return (await sessionIdleness(ctx, state, now, { ...inputs, sessions: [session] }))[0]!;
}
