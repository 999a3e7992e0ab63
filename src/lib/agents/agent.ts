/**
 * One agent in one tmux session: how it is launched (README: What happens on a usage limit), how text reaches it,
 * how we tell it is ready, and how it is stopped.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { accountByName, type Config, type SessionConfig } from '../core/config.js';
import {
  ENV_ACCOUNT,
  ENV_CONFIG,
  ENV_PROJECT,
  ENV_SESSION,
  ENV_STATE_DIR,
  isForbiddenAgentVar,
} from '../core/env-names.js';
import { findExecutable } from '../core/exec.js';
import { paneRunsAgent } from './screens.js';
import { paneTarget, type PaneInfo, type Tmux } from '../core/tmux.js';
import { inputBoxText, readScreen, type PaneScreen } from './screens.js';

export interface LaunchPlan {
  name: string;
  cwd: string;
  env: Record<string, string>;
  unsetEnv: string[];
  command: string[];
}

/**
 * Builds the launch of one session on `account`: cwd = the project, the environment
 * (`CLAUDE_CONFIG_DIR`, the `CLAUDE_FAILOVER_*` names) built explicitly, and `agent.command agent.args [--resume id]`. Inherited
 * CLAUDECODE / CLAUDE_CODE_* variables are removed unless agent.env sets them.
 */
export function planLaunch(
  cfg: Config,
  session: SessionConfig,
  accountName: string,
  resumeId: string | null,
  inherited: Iterable<string> = Object.keys(process.env),
  env: NodeJS.ProcessEnv = process.env,
): LaunchPlan {
  const account = accountByName(cfg, accountName);
  const agentEnv: Record<string, string> = {
    // The tmux server may have been started by cron with a bare PATH.
    ...(env.PATH ? { PATH: env.PATH } : {}),
    ...cfg.agent.env,
    CLAUDE_CONFIG_DIR: account.configDir,
    [ENV_SESSION]: session.name,
    [ENV_ACCOUNT]: account.name,
    [ENV_STATE_DIR]: cfg.stateDir,
    [ENV_PROJECT]: session.projectPath,
    // So `claude-failover task done` run by the agent finds this config wherever it lives.
    ...(cfg.file && !cfg.file.includes('#') ? { [ENV_CONFIG]: cfg.file } : {}),
  };
  const unset = new Set<string>();
  for (const name of inherited)
    if (isForbiddenAgentVar(name) && !(name in cfg.agent.env)) unset.add(name);
  const bin = findExecutable(cfg.agent.command, env) ?? cfg.agent.command;
  const command = [bin, ...cfg.agent.args];
  if (resumeId) command.push('--resume', resumeId);
  return {
    name: session.name,
    cwd: session.projectPath,
    env: agentEnv,
    unsetEnv: [...unset].sort(),
    command,
  };
}

/** Names of the variables the tmux server would pass on (its global environment). */
export async function tmuxGlobalEnvNames(tmux: Tmux): Promise<string[]> {
  try {
    const out = await tmux.run(['show-environment', '-g']);
    return out
      .split('\n')
      .map((l) => l.replace(/^-/, '').split('=')[0] ?? '')
      .filter(Boolean);
  } catch {
    return []; // no server yet: it will start with our own env, which the caller covers
  }
}

export async function launch(tmux: Tmux, plan: LaunchPlan): Promise<void> {
  await tmux.newSession({
    name: plan.name,
    cwd: plan.cwd,
    env: plan.env,
    unsetEnv: plan.unsetEnv,
    command: plan.command,
    // Keep the pane when the agent exits, so `watch` can read why (e.g. a missing transcript).
    remainOnExit: true,
  });
}

/** How a prompt typed into a pane was confirmed: Claude Code's hook, or its transcript. */
export type PromptConfirmation = 'hook' | 'transcript';

export interface TypedPrompt {
  /** Null when Claude Code never reported the prompt within the deadlines. */
  confirmedBy: PromptConfirmation | null;
  /** What was done, in order: paste, enter, enter-again, repaste, cleared. */
  steps: string[];
}

/**
 * Types a prompt into an agent until Claude Code itself reports it taken. What the screen
 * shows is never the proof: an input box that looks empty may not have been redrawn yet,
 * and one that cannot be read proves nothing. `confirmed` asks the agent's own reports (the
 * UserPromptSubmit hook, a user record in the transcript), and each step waits up to
 * `confirmMs` for it:
 *
 * 1. paste the text, pause, Enter (an Enter inside the paste burst is swallowed);
 * 2. Enter again;
 * 3. clear the input box and paste again, then Enter; unless the agent is visibly busy with
 *    an empty box (it took something: typing again could send the task twice), in which
 *    case it only waits once more.
 *
 * A prompt never confirmed is cleared from the box, so it cannot go in later by accident,
 * and the caller keeps the task in flight for the next run.
 */
export async function typePrompt(
  tmux: Tmux,
  session: string,
  text: string,
  confirmed: () => Promise<PromptConfirmation | null> | PromptConfirmation | null,
  opts: { confirmMs: number },
): Promise<TypedPrompt> {
  const steps: string[] = [];
  const wait = async (): Promise<PromptConfirmation | null> => {
    const until = Date.now() + opts.confirmMs;
    for (;;) {
      const by = await confirmed();
      if (by || Date.now() >= until) return by;
      // Reading the hook's signal file is cheap; a swap waits on the last confirmation.
      await sleep(75);
    }
  };
  const pasteAndEnter = async () => {
    await tmux.pasteText(session, text, { enter: false });
    await sleep(200);
    await tmux.sendKeys(session, ['Enter']);
  };
  steps.push('paste', 'enter');
  await pasteAndEnter();
  let by = await wait();
  if (by) return { confirmedBy: by, steps };
  steps.push('enter-again');
  await tmux.sendKeys(session, ['Enter']);
  by = await wait();
  if (by) return { confirmedBy: by, steps };
  const lines = await tmux.capturePane(session, 30).catch(() => [] as string[]);
  const box = inputBoxText(lines);
  if (readScreen(lines) === 'working' && !box) {
    steps.push('wait-busy');
    by = await wait();
  } else {
    steps.push('repaste');
    await tmux.sendKeys(session, ['C-u']);
    await sleep(100);
    await pasteAndEnter();
    by = await wait();
  }
  if (by) return { confirmedBy: by, steps };
  steps.push('cleared');
  await tmux.sendKeys(session, ['C-u']).catch(() => undefined);
  return { confirmedBy: null, steps };
}

/**
 * Whether a just-launched agent may be typed into, by its own account of itself: the
 * `SessionStart` hook since the launch (required when our hooks are installed for the
 * account) and, where Claude Code keeps its session registry, the status `idle` there.
 */
export interface ReadinessProbe {
  /** The agent reported itself started (SessionStart since the launch). */
  started: () => boolean;
  /** Our hooks are installed, so a missing SessionStart means "not yet", never "no hooks". */
  hooksInstalled: boolean;
  /** The registry status of the pane's process, when Claude Code writes one. */
  registryStatus?: (pid: number) => string | null;
}

/** How often `waitReady` looks (until the agent has said it started, at its pane once a second). */
const POLL_MS = 100;

/**
 * Waits until the agent is ready to be typed into (or shows a blocking screen, or dies).
 * Ready means: the pane shows the empty prompt, its SessionStart hook has come (when our
 * hooks are installed), and its registry entry, where there is one, says `idle`. At the deadline it
 * returns the screen as it is; a pane that looks ready without the hook's word is then
 * reported as `unknown`, never as ready.
 */
export async function waitReady(
  tmux: Tmux,
  session: string,
  timeoutMs: number,
  probe?: ReadinessProbe,
): Promise<{ screen: PaneScreen | 'dead'; lines: string[] }> {
  const deadline = Date.now() + timeoutMs;
  let lines: string[] = [];
  let screen: PaneScreen = 'unknown';
  for (let poll = 0; ; poll++) {
    const pane = (await tmux.sessions()).get(session);
    if (!paneRunsAgent(pane)) {
      lines = pane ? await tmux.capturePane(session, 40).catch(() => []) : [];
      return { screen: 'dead', lines };
    }
    const started = !probe?.hooksInstalled || probe.started();
    const pid = pane!.pid;
    const registry = started && pid !== null ? (probe?.registryStatus?.(pid) ?? null) : null;
    // Claude Code has said it started and, where it keeps a registry, that it is idle.
    const settled = started && (registry === null || registry === 'idle');
    // Until then the screen only matters for a dialog or a login screen: read it once a
    // second. Each read is a tmux process, and 20 agents starting at once need the CPU more
    // than we need their screens.
    if (settled || poll % 10 === 0) {
      lines = await tmux.capturePane(session, 40);
      screen = readScreen(lines);
    }
    if (screen !== 'ready' && screen !== 'working' && screen !== 'unknown')
      return { screen, lines };
    if (screen === 'ready' && settled) return { screen: 'ready', lines };
    if (Date.now() > deadline) return { screen: screen === 'ready' ? 'unknown' : screen, lines };
    // On the clock's tenth of a second: agents waited for together poll together, so their pane
    // listings and captures go out as one tmux call each (see Tmux.capturePane).
    await sleep(POLL_MS - (Date.now() % POLL_MS));
  }
}

export type StopOutcome = 'absent' | 'graceful' | 'killed';

/** SIGKILL to a pane's process group (tmux makes the pane's process its leader), else to it. */
function killProcessGroup(pid: number): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
      return;
    } catch {
      // Gone already, or not a group leader: try the process itself.
    }
  }
}

/**
 * Stops agents gracefully first (interrupt a busy one, then `/exit`, then Ctrl-C twice)
 * and kills a tmux session still running after `timeoutMs`. Each step goes to every pane in
 * one tmux invocation and one `list-panes` per round watches them all, so stopping 20 costs
 * about what stopping one does.
 */
export async function stopAgents(
  tmux: Tmux,
  sessions: readonly string[],
  timeoutMs: number,
): Promise<Map<string, StopOutcome>> {
  const result = new Map<string, StopOutcome>();
  const panes = await tmux.sessions();
  const present = [...new Set(sessions)].filter((s) => panes.has(s));
  for (const s of sessions) if (!panes.has(s)) result.set(s, 'absent');
  const running = (now: Map<string, PaneInfo>) => present.filter((s) => paneRunsAgent(now.get(s)));
  let live = running(panes);
  const waitGone = async (ms: number) => {
    const until = Date.now() + ms;
    // An agent told to exit is usually gone within a few tens of milliseconds: look soon, then
    // less and less often.
    for (let round = 0; ; round++) {
      live = running(await tmux.sessions());
      if (!live.length || Date.now() >= until) return;
      await sleep(Math.min(200, 25 * 2 ** round));
    }
  };
  const keys = (targets: string[], key: string) =>
    tmux.runEach(targets, (s) => ['send-keys', '-t', paneTarget(s), key]);
  const stopGracefully = async () => {
    // Escape interrupts a turn or closes a dialog. An agent idle at its prompt needs none,
    // and then neither the pause after it (the panes are read in one tmux call).
    const screens = await Promise.all(
      live.map(async (s) => readScreen(await tmux.capturePane(s, 40).catch(() => []))),
    );
    const busy = live.filter((_, i) => screens[i] !== 'ready');
    if (busy.length) {
      await keys(busy, 'Escape');
      await sleep(100);
    }
    await keys(live, 'C-u');
    // Typed again after a failure, so the line is cleared first: never `/exit/exit`.
    await tmux.runEach(
      live,
      (s) => ['send-keys', '-l', '-t', paneTarget(s), '--', '/exit'],
      async (s) => {
        await tmux.sendKeys(s, ['C-u']);
        await tmux.sendLiteral(s, '/exit');
      },
    );
    await sleep(150);
    await keys(live, 'Enter');
    await waitGone(timeoutMs / 2);
    if (live.length) {
      await keys(live, 'C-c');
      await sleep(100);
      await keys(live, 'C-c');
      await waitGone(timeoutMs / 2);
    }
  };
  if (live.length) {
    try {
      await stopGracefully();
    } catch {
      // tmux failed us midway: whatever is still running is killed with its session.
    }
    // Killing the tmux session only sends SIGHUP, which a stuck agent (or one that ignores
    // it) survives, keeping its conversation open: a resume would then start a copy. So the
    // agent's process group gets SIGKILL first.
    const now = await tmux.sessions().catch(() => new Map<string, PaneInfo>());
    for (const s of live) {
      const pid = now.get(s)?.pid;
      if (pid) killProcessGroup(pid);
      result.set(s, 'killed');
    }
  }
  for (const s of present) if (!result.has(s)) result.set(s, 'graceful');
  await tmux.runEach(
    present,
    (s) => ['kill-session', '-t', `=${s}`],
    (s) => tmux.killSession(s),
  );
  return result;
}
