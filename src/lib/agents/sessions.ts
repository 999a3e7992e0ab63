/**
 * One session's launch, shared by `session start`, swap and watch: which account and which
 * conversation it runs, launching it, and settling it (ready, a lost conversation started
 * fresh, the resume dialog answered, a resumed copy noticed).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { readAgentStatus } from '../queue/status-file.js';
import { launch, planLaunch, tmuxGlobalEnvNames, waitReady } from './agent.js';
import { NO_CONVERSATION_RE, fullResumeKey, readScreen } from './screens.js';
import { accountByName, defaultActiveAccount, type SessionConfig } from '../core/config.js';
import type { Context } from '../core/context.js';
import { UsageError } from '../core/errors.js';
import { appendEvent } from '../core/events.js';
import type { State } from '../core/state-schema.js';
import { reachableTranscript } from '../claude/transcript-path.js';
import { readRegistryEntry, registryHolders } from '../claude/registry.js';
import { hooksInstalled, readSignals, signalsWritable } from '../claude/signals.js';
import { syncTriggerSettings } from '../core/triggers.js';
import type { PaneScreen } from './screens.js';

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

export function activeAccount(ctx: Pick<Context, 'config'>, state: State): string {
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
  opts: { killed?: boolean } = {},
): Promise<void> {
  // A dead pane kept by remain-on-exit would block the name (a swap kills them all at once).
  if (!opts.killed) await ctx.tmux.killSession(session.name);
  // Its hooks read the trigger settings: current before its first turn ends.
  syncTriggerSettings(ctx.config);
  const plan = planLaunch(ctx.config, session, account, resumeId, inheritedEnv, ctx.env);
  await launch(ctx.tmux, plan);
}

/**
 * The id to pass to `--resume`, or null when the account could not reach that conversation
 * (Claude Code would exit at once with "No conversation found"): then the agent starts
 * fresh, and an event says so.
 */
export function resumableId(
  ctx: Context,
  session: SessionConfig,
  account: string,
  id: string | null,
): string | null {
  if (!id) return null;
  if (reachableTranscript(accountByName(ctx.config, account).configDir, session.projectPath, id))
    return id;
  appendEvent(
    ctx.config.stateDir,
    'session.resume-missing',
    {
      session: session.name,
      claudeSessionId: id,
      account,
      detail: `no transcript of it under ${accountByName(ctx.config, account).configDir}/projects (nothing was said yet, or it was moved): starting a fresh conversation`,
    },
    { level: 'warn', now: ctx.clock.now() },
  );
  return null;
}

export interface SettleResult {
  session: string;
  /** The id the agent was finally started with (null: a fresh conversation). */
  resumeId: string | null;
  /**
   * The conversation the agent reports running (its SessionStart `session_id`, else the
   * "started a copy as <id>" note, else `resumeId`): what to resume next time.
   */
  claudeSessionId: string | null;
  /** Claude Code resumed `resumeId` as a copy under `claudeSessionId`. */
  copied: boolean;
  /** True when `--resume` found no conversation and the agent was started fresh instead. */
  fresh: boolean;
  /** The id that could not be resumed, when `fresh`. */
  lostId: string | null;
  screen: PaneScreen | 'dead';
  lines: string[];
}

/** How long a registry entry without a status counts as still starting. */
const REGISTRY_STATUS_GRACE_MS = 1500;

/** Claude Code, resuming a conversation open in another process (its `--bg` path). */
const COPY_NOTE_RE =
  /started a copy as ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/i;

/**
 * The newest SessionStart signal of a session on `account` since `sinceMs` (taken just before
 * the launch, so the agent it stopped cannot count: its own SessionStart may be only moments
 * older, when a swap follows a start).
 */
function sessionStartSince(ctx: Context, session: string, account: string, sinceMs: number) {
  // Only the tail: a launch's SessionStart is seconds old, and settle polls this often.
  return readSignals(ctx.config.stateDir, session, new Date(sinceMs).toISOString(), 16_384)
    .reverse()
    .find((sig) => sig.event === 'SessionStart' && (sig.account ?? account) === account);
}

/**
 * Waits until a just-launched agent is ready, dead or blocked, and deals with what Claude
 * Code can show a resumed agent: `No conversation found with session ID` (it exits at once;
 * we start it fresh rather than loop) and the "Resume from summary" dialog (we pick the
 * full resume, so the conversation continues as it was). Ready is Claude Code's own word
 * (see `waitReady`): nothing is typed into an agent before it. Then the id the agent
 * reports is checked against the one asked for: a copy (the conversation was open in
 * another process) is an event, and the copy's id is what the caller records.
 */
export async function settleLaunch(
  ctx: Context,
  session: SessionConfig,
  account: string,
  resumeId: string | null,
  inheritedEnv: string[],
  launchedAt: number = Date.now(),
): Promise<SettleResult> {
  const timeout = ctx.config.agent.readyTimeout;
  const configDir = accountByName(ctx.config, account).configDir;
  let since = launchedAt;
  const probe = {
    // Hooks that cannot write (a full or read-only stateDir) never say SessionStart.
    hooksInstalled: hooksInstalled(configDir) && signalsWritable(ctx.config.stateDir),
    started: () => sessionStartSince(ctx, session.name, account, since) !== undefined,
    // Claude Code 2.1.328+ writes its registry entry before its status (idle follows the
    // SessionStart hook by about 0.1 s): an entry without one is still starting, for a while.
    registryStatus: (pid: number) => {
      const e = readRegistryEntry(configDir, pid);
      if (!e) return null;
      if (e.status) return e.status;
      statusless ??= Date.now();
      return Date.now() - statusless < REGISTRY_STATUS_GRACE_MS ? 'starting' : null;
    },
  };
  let statusless: number | null = null;
  let current = resumeId;
  let lostId: string | null = null;
  let dialogAnswered = false;
  for (;;) {
    const r = await waitReady(ctx.tmux, session.name, timeout, probe);
    if (r.screen === 'dead' && current) {
      // tmux can lose what a process printed just before it exited, so the message is not
      // enough: an agent that died on --resume of a conversation it cannot reach lost it.
      const missing =
        NO_CONVERSATION_RE.test(r.lines.join('\n')) ||
        !reachableTranscript(configDir, session.projectPath, current);
      if (missing) {
        lostId = current;
        appendEvent(
          ctx.config.stateDir,
          'session.resume-missing',
          {
            session: session.name,
            claudeSessionId: current,
            detail: 'claude --resume found no conversation; started a fresh one instead',
          },
          { level: 'warn', now: ctx.clock.now() },
        );
        current = null;
        since = Date.now();
        await launchSession(ctx, session, account, null, inheritedEnv);
        continue;
      }
    }
    if (r.screen === 'resume-dialog' && !dialogAnswered) {
      // "Resume from summary / Resume full session as-is": keep the whole conversation.
      dialogAnswered = true;
      const key = fullResumeKey(r.lines);
      await ctx.tmux.sendKeys(session.name, [key]);
      // A digit picks the row in Claude Code's menus; if the dialog is still up after a
      // moment, confirm with Enter. Then wait for it to go away before reading again.
      const until = Date.now() + Math.min(timeout, 5000);
      let enterSent = false;
      for (;;) {
        await sleep(150);
        const lines = await ctx.tmux.capturePane(session.name, 40).catch(() => [] as string[]);
        if (readScreen(lines) !== 'resume-dialog' || Date.now() > until) break;
        if (!enterSent && Date.now() > until - Math.min(timeout, 5000) + 1000) {
          enterSent = true;
          await ctx.tmux.sendKeys(session.name, ['Enter']);
        }
      }
      continue;
    }
    const reported =
      sessionStartSince(ctx, session.name, account, since)?.claudeSessionId ??
      COPY_NOTE_RE.exec(r.lines.join('\n'))?.[1] ??
      null;
    const copied = Boolean(current && reported && reported !== current);
    // Another live process that holds the conversation asked for (Claude Code's registry):
    // Claude Code 2.1.328/2.1.332 then let both write one transcript on an interactive
    // resume; a resume that came back under another id is a copy.
    const pid =
      r.screen === 'ready' ? ((await ctx.tmux.sessions()).get(session.name)?.pid ?? null) : null;
    const holders =
      current && (copied || pid !== null)
        ? registryHolders(
            ctx.config.accounts.map((a) => a.configDir),
            current,
          )
            .filter((h) => h.pid !== pid)
            .map((h) => ({ pid: h.pid, registry: h.file }))
        : [];
    const pids = holders.map((h) => h.pid).join(', ');
    if (copied)
      appendEvent(
        ctx.config.stateDir,
        'session.resume-copied',
        {
          session: session.name,
          account,
          requested: current,
          claudeSessionId: reported,
          holders,
          detail: `claude --resume ${current} started a copy as ${reported}: the original is open in another Claude Code process${pids ? ` (pid ${pids})` : ''}; the copy is the conversation from now on`,
        },
        { level: 'warn', now: ctx.clock.now() },
      );
    else if (holders.length)
      appendEvent(
        ctx.config.stateDir,
        'session.resume-shared',
        {
          session: session.name,
          account,
          claudeSessionId: current,
          holders,
          detail: `conversation ${current} is also open in pid ${pids}: both processes write one transcript; stop the other one`,
        },
        { level: 'warn', now: ctx.clock.now() },
      );
    return {
      session: session.name,
      resumeId: current,
      claudeSessionId: reported ?? current,
      copied,
      fresh: lostId !== null,
      lostId,
      screen: r.screen,
      lines: r.lines,
    };
  }
}

/** The names of inherited variables to strip: ours and the tmux server's. */
export async function inheritedEnvNames(ctx: Context): Promise<string[]> {
  return [...new Set([...Object.keys(ctx.env), ...(await tmuxGlobalEnvNames(ctx.tmux))])];
}
