/**
 * The swap (SPEC section 5): every session on the account being left is checkpointed,
 * stopped, and relaunched on the target account with `--resume <same id>`, so each
 * conversation goes on where it stopped.
 *
 * It is one recoverable operation. It runs under its own lock (a second swap exits 75 at
 * once), and it journals each step in the state file before moving on. A swap killed at
 * any step leaves the journal behind; the next `swap` or `quota check` finds it, sees that
 * the lock is free (so its runner is gone) and carries it forward from the last step,
 * which is safe because every step is idempotent. A target whose agents cannot log in is
 * marked auth-error and the next account is tried; when none is left the sessions go back
 * to the account they came from, so no session is ever left stopped.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { accountCondition, isAccountUnusableError, pickSwapTarget } from '../accounts/condition.js';
import { readAgentStatus } from '../queue/status-file.js';
import { stopAgents } from '../agents/agent.js';
import { readScreen } from '../agents/screens.js';
import { owePrompt, sendTaskPrompt, type TaskPromptJob } from '../dispatch/delivery.js';
import { readLatestCheckpoint, taskInFlight, writeCheckpoints } from '../agents/checkpoint.js';
import { accountByName, type SessionConfig } from '../core/config.js';
import type { Context } from '../core/context.js';
import { ImpossibleError, LockBusyError, UsageError } from '../core/errors.js';
import { appendEvent } from '../core/events.js';
import { notifyEvent } from '../notify/index.js';
import { ensurePrivateDir } from '../core/fs-atomic.js';
import { tryLock } from '../core/lock.js';
import {
  activeAccount,
  inheritedEnvNames,
  launchSession,
  resumeIdFor,
  settleLaunch,
  type SettleResult,
} from '../agents/sessions.js';
import { ensureSymlink, linkProjects } from '../accounts/links.js';
import { readSignals } from '../claude/signals.js';
import {
  accountState,
  sessionState,
  type State,
  type SwapJournal,
  type SwapRecord,
} from '../core/state-schema.js';
import { paneRunsAgent } from '../agents/screens.js';
import { encodeProjectDir, reachableTranscript, SESSION_ID_RE } from '../claude/transcript-path.js';

export interface SwapTrigger {
  [k: string]: unknown;
  session: string | null;
  pattern: string | null;
  snippet: string | null;
}

export interface SwapOptions {
  from?: string;
  to?: string;
  reason?: string;
  trigger?: SwapTrigger | null;
  dryRun?: boolean;
  /**
   * The source hit a limit: mark it exhausted until this time (ISO). `null` means "hit a
   * limit, reset unknown": `quota.defaultExhaustion` applies. Undefined: a manual or
   * proactive swap, the source is not marked.
   */
  exhaustedUntil?: string | null;
  /** Reports progress for a spinner. */
  onProgress?: (msg: string) => void;
}

export interface SwapSessionResult {
  name: string;
  claudeSessionId: string | null;
  /** Started fresh because its conversation could not be reached. */
  fresh: boolean;
  ready: boolean;
  screen: string | null;
  task: string | null;
  prompted: boolean;
}

export interface SwapResult {
  outcome: 'completed' | 'dry-run' | 'rolled-back' | 'no-target';
  from: string;
  to: string | null;
  reason: string;
  /** A journal left by a killed swap was carried forward. */
  resumed: boolean;
  /** Accounts tried as a target that failed to come up. */
  tried: string[];
  sessions: SwapSessionResult[];
  durationMs: number;
}

type JournalSession = SwapJournal['sessions'][number];

/** The swap lock: a plain lock file beside the state, separate from the state lock. */
function swapLockFile(stateDir: string): string {
  return path.join(stateDir, 'swap');
}

/** Sessions that run (or should run) on `account`: launched, not stopped, not degraded. */
export function sessionsOn(ctx: Context, state: State, account: string): SessionConfig[] {
  const active = activeAccount(ctx, state);
  return ctx.config.sessions.filter((s) => {
    const st = state.sessions[s.name];
    if (!st?.launchedAt || st.stopped || st.degraded) return false;
    return (st.account ?? active) === account;
  });
}

/**
 * Makes a conversation reachable from `configDir`: when `projects/` there does not lead to
 * it (a link is missing or points elsewhere), the transcript is found under the shared tree
 * or another account and copied in. Returns false when it is gone everywhere.
 */
export function ensureTranscriptReachable(
  ctx: Context,
  configDir: string,
  cwd: string,
  id: string,
): boolean {
  if (!SESSION_ID_RE.test(id)) return false;
  if (reachableTranscript(configDir, cwd, id)) return true;
  const roots = [
    ctx.config.sharedProjectsDir,
    ...ctx.config.accounts.map((a) => path.join(a.configDir, 'projects')),
  ];
  for (const root of roots) {
    let dirs: string[] = [];
    try {
      dirs = fs.readdirSync(root);
    } catch {
      continue;
    }
    for (const d of dirs) {
      const file = path.join(root, d, `${id}.jsonl`);
      if (!fs.existsSync(file)) continue;
      const dest = path.join(configDir, 'projects', encodeProjectDir(cwd), `${id}.jsonl`);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      // Copy, never move: the original stays where it was.
      fs.copyFileSync(file, dest, fs.constants.COPYFILE_EXCL);
      appendEvent(
        ctx.config.stateDir,
        'swap.transcript-copied',
        { claudeSessionId: id, from: file, to: dest },
        { level: 'warn', now: ctx.clock.now() },
      );
      return true;
    }
  }
  return false;
}

/**
 * Fault injection for the recovery tests: `CLAUDE_FAILOVER_FAULT=swap:<step>` kills this
 * process (SIGKILL, nothing cleaned up) right after the journal records `<step>`.
 */
function faultPoint(ctx: Context, step: string): void {
  if (ctx.env.CLAUDE_FAILOVER_FAULT === `swap:${step}`) process.kill(process.pid, 'SIGKILL');
}

async function updateJournal(
  ctx: Context,
  fn: (j: SwapJournal, st: State) => void,
): Promise<SwapJournal> {
  const j = await ctx.state.update((st) => {
    if (!st.swapJournal) throw new Error('the swap journal disappeared from the state file');
    fn(st.swapJournal, st);
    return structuredClone(st.swapJournal);
  });
  faultPoint(ctx, j.step);
  return j;
}

/**
 * Runs a swap, or carries forward one a killed process left behind. Throws LockBusyError
 * (exit 75) when another swap holds the lock, and ImpossibleError (exit 3) when no account
 * can take the sessions (they are left running, or put back, on the source).
 */
export async function runSwap(ctx: Context, opts: SwapOptions = {}): Promise<SwapResult> {
  const progress = opts.onProgress ?? (() => undefined);
  if (opts.dryRun) return planOnly(ctx, opts);
  ensurePrivateDir(ctx.config.stateDir);
  const release = await tryLock(swapLockFile(ctx.config.stateDir), {
    staleAfter: ctx.config.lock.staleAfter,
  });
  if (!release) {
    throw new LockBusyError(
      'swap in progress: another claude-failover swap holds the swap lock',
      'it finishes on its own; see `claude-failover status`',
    );
  }
  try {
    let state = ctx.state.read();
    let resumed = false;
    if (state.swapJournal && state.swapJournal.step !== 'done') {
      resumed = true;
      await notifyEvent(
        ctx,
        'swap.resumed',
        { from: state.swapJournal.from, to: state.swapJournal.to, step: state.swapJournal.step },
        'warn',
      );
    } else {
      const started = await beginSwap(ctx, state, opts);
      if ('result' in started) return started.result;
      state = ctx.state.read();
    }
    return await carryOut(ctx, state.swapJournal!, { resumed, progress, opts });
  } finally {
    await release().catch(() => undefined);
  }
}

function planOnly(ctx: Context, opts: SwapOptions): SwapResult {
  const state = ctx.state.read();
  const from = opts.from ?? activeAccount(ctx, state);
  accountByName(ctx.config, from);
  const now = ctx.clock.now();
  const to = opts.to ?? pickSwapTarget(ctx.config, state, now, [from])?.name ?? null;
  if (opts.to) validateTarget(ctx, state, from, opts.to);
  return {
    outcome: 'dry-run',
    from,
    to,
    reason: opts.reason ?? 'manual',
    resumed: false,
    tried: [],
    sessions: sessionsOn(ctx, state, from).map((s) => ({
      name: s.name,
      claudeSessionId: resumeIdFor(ctx, s, state),
      fresh: false,
      ready: false,
      screen: null,
      task: taskInFlight(ctx.config.stateDir, s)?.id ?? null,
      prompted: false,
    })),
    durationMs: 0,
  };
}

function validateTarget(ctx: Context, state: State, from: string, to: string): void {
  accountByName(ctx.config, to);
  if (to === from) throw new UsageError(`--to ${to}: that is the account being left`);
  const c = accountCondition(ctx.config, state, to, ctx.clock.now());
  if (!c.enabled) throw new ImpossibleError(`--to ${to}: the account is disabled`);
  if (c.authError)
    throw new ImpossibleError(`--to ${to}: the account is in auth error (log it in again)`);
  if (c.exhausted)
    throw new ImpossibleError(`--to ${to}: the account is exhausted until ${c.exhaustedUntil}`);
}

/** Marks the source exhausted when the swap is for a limit. */
function markExhausted(ctx: Context, st: State, account: string, until: string | null | undefined) {
  if (until === undefined) return;
  const now = ctx.clock.now();
  const a = accountState(st, account);
  a.exhaustedUntil =
    until ?? new Date(now.getTime() + ctx.config.quota.defaultExhaustion).toISOString();
}

async function beginSwap(
  ctx: Context,
  state: State,
  opts: SwapOptions,
): Promise<{ result: SwapResult } | { journal: SwapJournal }> {
  const from = opts.from ?? activeAccount(ctx, state);
  accountByName(ctx.config, from);
  if (opts.to) validateTarget(ctx, state, from, opts.to);
  const now = ctx.clock.now();
  const reason = opts.reason ?? 'manual';
  const target = opts.to ?? pickSwapTarget(ctx.config, state, now, [from])?.name ?? null;
  if (!target) {
    await noUsableAccount(ctx, from, reason, opts.exhaustedUntil);
    throw new ImpossibleError(
      `no account can take the sessions of '${from}': every other one is exhausted, disabled, in auth error or over swapAt`,
      'the sessions keep running; Claude Code waits for the reset by itself',
    );
  }
  const sessions = sessionsOn(ctx, state, from);
  const journal: SwapJournal = {
    id: randomUUID(),
    from,
    to: target,
    reason,
    trigger: opts.trigger ?? null,
    startedAt: now.toISOString(),
    pid: process.pid,
    step: 'planned',
    tried: [],
    sessions: sessions.map((s) => ({
      name: s.name,
      claudeSessionId: null,
      cwd: null,
      task: null,
      stopped: false,
      relaunched: false,
      ready: false,
      prompted: false,
      fresh: false,
    })),
  };
  await ctx.state.update((st) => {
    st.swapJournal = journal;
    markExhausted(ctx, st, from, opts.exhaustedUntil);
  });
  await notifyEvent(
    ctx,
    'swap.started',
    {
      from,
      to: target,
      reason,
      trigger: opts.trigger ?? null,
      sessions: sessions.map((s) => s.name),
    },
    'warn',
  );
  faultPoint(ctx, 'planned');
  return { journal };
}

/** No account can take over: notify once per episode, leave the sessions as they are. */
async function noUsableAccount(
  ctx: Context,
  from: string,
  reason: string,
  exhaustedUntil: string | null | undefined,
): Promise<void> {
  const now = ctx.clock.now();
  const first = await ctx.state.update((st) => {
    markExhausted(ctx, st, from, exhaustedUntil);
    if (st.noUsableAccountSince) return false;
    st.noUsableAccountSince = now.toISOString();
    return true;
  });
  if (first) {
    const state = ctx.state.read();
    await notifyEvent(
      ctx,
      'accounts.exhausted',
      {
        from,
        reason,
        accounts: ctx.config.accounts.map((a) => {
          const c = accountCondition(ctx.config, state, a.name, now);
          return {
            name: a.name,
            enabled: c.enabled,
            exhaustedUntil: c.exhaustedUntil,
            authError: c.authError,
            usedPercent: c.usedPercent,
          };
        }),
      },
      'error',
    );
  }
}

interface CarryOpts {
  resumed: boolean;
  progress: (msg: string) => void;
  opts: SwapOptions;
}

async function carryOut(ctx: Context, start: SwapJournal, c: CarryOpts): Promise<SwapResult> {
  let j = start;
  const t0 = Date.parse(j.startedAt);
  const byName = new Map(ctx.config.sessions.map((s) => [s.name, s]));
  const cfgOf = (js: JournalSession) => byName.get(js.name);
  const inherited = await inheritedEnvNames(ctx);
  let settled = new Map<string, SettleResult>();
  let rolledBack = false;

  // 1. Checkpoint: the claude session id, the cwd and the task of each session, before
  //    anything is stopped.
  if (j.step === 'planned') {
    c.progress('checkpointing');
    const live = j.sessions.map((s) => s.name);
    const run = await writeCheckpoints(ctx, live, { recordRun: false }).catch(() => null);
    const state = ctx.state.read();
    const panes = await ctx.tmux.sessions();
    const facts = new Map<string, Partial<JournalSession>>();
    for (const js of j.sessions) {
      const s = cfgOf(js);
      if (!s) continue;
      const cp = run?.results.find((r) => r.session === js.name)?.written
        ? readLatestCheckpoint(ctx.config.stateDir, js.name)
        : null;
      const pane = panes.get(js.name);
      facts.set(js.name, {
        claudeSessionId: cp?.claudeSessionId ?? resumeIdFor(ctx, s, state),
        cwd: (paneRunsAgent(pane) && pane!.currentPath) || s.projectPath,
        task: taskInFlight(ctx.config.stateDir, s),
      });
    }
    j = await updateJournal(ctx, (jj) => {
      for (const js of jj.sessions) Object.assign(js, facts.get(js.name) ?? {});
      jj.step = 'checkpointed';
    });
  }

  for (;;) {
    // 2. Stop them in parallel, gracefully first.
    if (j.step === 'checkpointed') {
      c.progress(`stopping ${j.sessions.length} sessions on ${j.from}`);
      await stopAgents(
        ctx.tmux,
        j.sessions.map((js) => js.name),
        ctx.config.agent.stopTimeout,
      );
      j = await updateJournal(ctx, (jj) => {
        for (const js of jj.sessions) js.stopped = true;
        jj.step = 'stopped';
      });
    }

    // 3. Relink projects/ and activeLink to the target; it becomes the active account.
    if (j.step === 'stopped') {
      c.progress(`switching to ${j.to}`);
      const dir = accountByName(ctx.config, j.to).configDir;
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      linkProjects(dir, ctx.config.sharedProjectsDir, ctx.clock.now());
      if (ctx.config.activeLink) ensureSymlink(ctx.config.activeLink, dir);
      j = await updateJournal(ctx, (jj, st) => {
        st.activeAccount = jj.to;
        jj.step = 'relinked';
      });
    }

    // 4 + 5. Make every transcript reachable, then relaunch with --resume <same id>.
    if (j.step === 'relinked') {
      c.progress(`relaunching on ${j.to}`);
      const dir = accountByName(ctx.config, j.to).configDir;
      const launches: Array<{ js: JournalSession; at: number; resumeId: string | null }> = [];
      // The panes before any launch: only our own launches change them during the loop.
      const panes = await ctx.tmux.sessions();
      let lastLaunch = 0;
      for (const js of j.sessions) {
        const s = cfgOf(js);
        if (!s) continue;
        // Already relaunched on the target by an earlier, interrupted run: leave it.
        const pane = panes.get(js.name);
        if (
          paneRunsAgent(pane) &&
          (await ctx.tmux.sessionEnv(js.name, 'CLAUDE_FAILOVER_ACCOUNT')) === j.to
        ) {
          launches.push({ js, at: 0, resumeId: js.fresh ? null : js.claudeSessionId });
          continue;
        }
        let resumeId = js.claudeSessionId;
        if (resumeId && !ensureTranscriptReachable(ctx, dir, js.cwd ?? s.projectPath, resumeId)) {
          await notifyEvent(
            ctx,
            'session.resume-missing',
            {
              session: js.name,
              claudeSessionId: resumeId,
              account: j.to,
              detail: 'the transcript is gone: the session starts fresh and gets its task again',
            },
            'warn',
          );
          resumeId = null;
        }
        // Launches start launchStagger apart; the time a launch itself takes counts.
        if (lastLaunch)
          await sleep(Math.max(0, lastLaunch + ctx.config.swap.launchStagger - Date.now()));
        const at = (lastLaunch = Date.now());
        await launchSession(ctx, s, j.to, resumeId, inherited);
        launches.push({ js, at, resumeId });
      }
      j = await updateJournal(ctx, (jj) => {
        for (const l of launches) {
          const js = jj.sessions.find((x) => x.name === l.js.name)!;
          js.relaunched = true;
          js.fresh = l.resumeId === null && js.claudeSessionId !== null;
        }
        jj.step = 'relaunched';
      });
      // 6. Wait for each agent to be ready, in parallel.
      c.progress(`waiting for ${launches.length} agents`);
      const results = await Promise.all(
        launches.map(async (l) => {
          const s = cfgOf(l.js)!;
          return settleLaunch(ctx, s, j.to, l.resumeId, inherited, l.at || Date.now() - 60_000);
        }),
      );
      settled = new Map(results.map((r) => [r.session, r]));
    } else if (j.step === 'relaunched') {
      // Interrupted while waiting: look again.
      const results = await Promise.all(
        j.sessions
          .filter((js) => cfgOf(js))
          .map((js) =>
            settleLaunch(ctx, cfgOf(js)!, j.to, js.fresh ? null : js.claudeSessionId, inherited, 0),
          ),
      );
      settled = new Map(results.map((r) => [r.session, r]));
    }

    // An account whose agents cannot log in: mark it, stop them, try the next account, or,
    // with none left, put the sessions back where they came from.
    const fallBack = async (authFailed: string[]) => {
      const bad = j.to;
      await notifyEvent(
        ctx,
        'account.auth-error',
        { account: bad, sessions: authFailed, detail: 'its agents did not log in' },
        'error',
      );
      await stopAgents(
        ctx.tmux,
        j.sessions.map((js) => js.name),
        ctx.config.agent.stopTimeout,
      );
      const now = ctx.clock.now();
      const state = await ctx.state.update((st) => {
        accountState(st, bad).authErrorAt = now.toISOString();
        return structuredClone(st);
      });
      const tried = [...j.tried, bad];
      const next = pickSwapTarget(ctx.config, state, now, [j.from ?? '', ...tried]);
      const to = next?.name ?? j.from!;
      rolledBack = !next;
      if (rolledBack) await noUsableAccount(ctx, j.from!, j.reason, undefined);
      j = await updateJournal(ctx, (jj) => {
        jj.tried = tried;
        jj.to = to;
        for (const js of jj.sessions) {
          js.relaunched = false;
          js.ready = false;
          js.prompted = false;
        }
        jj.step = 'stopped';
      });
    };

    if (j.step === 'relaunched') {
      const authFailed = authFailures(ctx, j, settled);
      if (authFailed.length && !rolledBack) {
        await fallBack(authFailed);
        continue;
      }
      j = await updateJournal(ctx, (jj) => {
        for (const js of jj.sessions) {
          const r = settled.get(js.name);
          js.ready = r?.screen === 'ready';
          if (r?.fresh) js.fresh = true;
        }
        jj.step = 'ready';
      });
    }

    // 7. Tell the sessions that had a task in flight to carry on.
    if (j.step === 'ready') {
      c.progress('resuming tasks');
      const promptedAt = new Date(Date.now() - 1000).toISOString();
      const prompted = new Set<string>();
      await Promise.all(
        j.sessions.map(async (js) => {
          const s = cfgOf(js);
          if (!s || !js.task || js.prompted) return;
          const job: TaskPromptJob = {
            session: s,
            account: j.to,
            task: js.task,
            prompt: js.fresh ? 'dispatch' : 'resume',
            template: js.fresh ? ctx.config.dispatch.prompt : ctx.config.swap.resumePrompt,
            by: 'swap',
          };
          // Nothing is typed into an agent that is not ready: the prompt is owed, and the
          // next dispatch delivers it once the session is idle. An unconfirmed one is owed
          // the same way (see delivery.ts).
          if (!js.ready) await owePrompt(ctx, job, 'the agent was not ready after the swap');
          else if ((await sendTaskPrompt(ctx, job)).ok) prompted.add(s.name);
        }),
      );
      j = await updateJournal(ctx, (jj) => {
        for (const js of jj.sessions) if (prompted.has(js.name)) js.prompted = true;
        jj.step = 'prompted';
      });
      // Bad credentials only show on the first request: give the prompted agents a moment
      // to fail with authentication_failed before calling the swap done.
      if (prompted.size && !rolledBack) {
        const failed = await waitForAuthFailure(ctx, [...prompted], j.to, promptedAt);
        if (failed.length) {
          await fallBack(failed);
          continue;
        }
      }
    }
    break;
  }

  return finish(ctx, j, { resumed: c.resumed, rolledBack, t0, settled });
}

/** How long prompted agents are given to fail their first request with bad credentials. */
export const AUTH_PROBE_MS = 3000;

async function waitForAuthFailure(
  ctx: Context,
  sessions: string[],
  account: string,
  since: string,
): Promise<string[]> {
  const until = Date.now() + AUTH_PROBE_MS;
  for (;;) {
    const failed: string[] = [];
    let settledAll = true;
    for (const name of sessions) {
      const sigs = readSignals(ctx.config.stateDir, name, since).filter(
        (sig) => sig.account === account,
      );
      if (sigs.some((sig) => isAccountUnusableError(sig.error))) failed.push(name);
      // Without hooks, the pane says it: "Not logged in · Please run /login".
      else if (
        readScreen(await ctx.tmux.capturePane(name, 40).catch(() => [] as string[])) === 'login'
      )
        failed.push(name);
      // A Stop or a non-auth StopFailure means the first request got an answer.
      else if (!sigs.some((sig) => sig.event === 'Stop' || sig.event === 'StopFailure'))
        settledAll = false;
    }
    if (failed.length || settledAll || Date.now() > until) return failed;
    await sleep(200);
  }
}

/** Sessions whose agent did not log in: a login screen, or `authentication_failed`. */
function authFailures(ctx: Context, j: SwapJournal, settled: Map<string, SettleResult>): string[] {
  const since = new Date(Date.parse(j.startedAt) - 1000).toISOString();
  return j.sessions
    .filter((js) => {
      if (settled.get(js.name)?.screen === 'login') return true;
      return readSignals(ctx.config.stateDir, js.name, since).some(
        (sig) => sig.account === j.to && isAccountUnusableError(sig.error),
      );
    })
    .map((js) => js.name);
}

async function finish(
  ctx: Context,
  j: SwapJournal,
  f: { resumed: boolean; rolledBack: boolean; t0: number; settled: Map<string, SettleResult> },
): Promise<SwapResult> {
  const now = ctx.clock.now();
  const durationMs = Math.max(0, Date.now() - f.t0);
  const outcome = f.rolledBack ? 'rolled-back' : 'completed';
  const record: SwapRecord = {
    from: j.from,
    to: j.to,
    at: now.toISOString(),
    reason: j.reason,
    trigger: j.trigger,
    sessions: j.sessions.map((s) => s.name),
    durationMs,
    outcome,
  };
  await ctx.state.update((st) => {
    for (const js of j.sessions) {
      const ss = sessionState(st, js.name);
      const s = ctx.config.sessions.find((x) => x.name === js.name);
      ss.account = j.to;
      ss.launchedAt = now.toISOString();
      const hookId = s
        ? (readAgentStatus(s.projectPath).sessions[s.name]?.claudeSessionId ?? null)
        : null;
      // What the agent reports running (a copy Claude Code made has its own id), else what
      // the hooks last said, else the id it was resumed with.
      const reported = f.settled.get(js.name)?.claudeSessionId ?? null;
      ss.claudeSessionId = js.fresh
        ? (reported ?? hookId ?? null)
        : (reported ?? js.claudeSessionId ?? hookId);
    }
    st.lastSwap = record;
    st.swaps = [...st.swaps, record].slice(-ctx.config.swap.historyMax);
    if (!f.rolledBack) {
      st.cooldownUntil = new Date(
        now.getTime() + ctx.config.quota.reactivateCooldown,
      ).toISOString();
      st.noUsableAccountSince = null;
    }
    st.pendingSwap = null;
    st.swapJournal = null;
  });
  const sessions: SwapSessionResult[] = j.sessions.map((js) => ({
    name: js.name,
    claudeSessionId: js.claudeSessionId,
    fresh: js.fresh,
    ready: js.ready,
    screen: f.settled.get(js.name)?.screen ?? null,
    task: js.task?.id ?? null,
    prompted: js.prompted,
  }));
  await notifyEvent(
    ctx,
    f.rolledBack ? 'swap.failed' : 'swap.completed',
    {
      from: j.from,
      to: j.to,
      reason: j.reason,
      trigger: j.trigger,
      sessions: sessions.map((s) => ({
        name: s.name,
        ready: s.ready,
        fresh: s.fresh,
        task: s.task,
        prompted: s.prompted,
      })),
      tried: j.tried,
      durationMs,
      resumed: f.resumed,
    },
    f.rolledBack ? 'error' : 'info',
  );
  const result: SwapResult = {
    outcome,
    from: j.from ?? '',
    to: j.to,
    reason: j.reason,
    resumed: f.resumed,
    tried: j.tried,
    sessions,
    durationMs,
  };
  if (f.rolledBack) {
    throw Object.assign(
      new ImpossibleError(
        `no account could take the sessions: ${j.tried.join(', ')} failed to log in; they are back on ${j.to}`,
      ),
      { result },
    );
  }
  return result;
}
