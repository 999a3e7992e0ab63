/**
 * One agent in one tmux session: how it is launched (SPEC section 5), how text reaches it,
 * how we tell it is ready, and how it is stopped.
 */
import { accountByName, type Config, type SessionConfig } from './config.js';
import {
  ENV_ACCOUNT,
  ENV_CONFIG,
  ENV_PROJECT,
  ENV_SESSION,
  ENV_STATE_DIR,
  isForbiddenAgentVar,
} from './env-names.js';
import { findExecutable } from './exec.js';
import { paneRunsAgent } from './status.js';
import { paneTarget, type PaneInfo, type Tmux } from './tmux.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface LaunchPlan {
  name: string;
  cwd: string;
  env: Record<string, string>;
  unsetEnv: string[];
  command: string[];
}

/** What `claude --resume` prints when it cannot find the transcript (seen with 2.1.328). */
export const NO_CONVERSATION_RE = /No conversation found with session ID:\s*([0-9a-f-]{8,})/i;

/**
 * Builds the launch of one session on `account`: cwd = the project, the env of SPEC
 * section 5 built explicitly, and `agent.command agent.args [--resume id]`. Inherited
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

// Claude Code's input line: `❯` + NBSP (2.x), or the boxed `│ >` of 2025 builds. A bare
// `> text` is how the conversation shows a past user message, so it does not count.
const PROMPT_RE = /^\s*(?:│\s*>[\s\u00a0]|❯(?:[\s\u00a0]|$))/;
const WORKING_RE = /esc to interrupt/i;
const BLOCKING_SCREENS: Array<[RegExp, string]> = [
  [
    /Select login method|Not logged in|Please run \/login|Login expired|Invalid API key|OAuth token has expired/i,
    'login',
  ],
  [/Resume full session as-is|Resume from summary/i, 'resume-dialog'],
  [
    /Do you trust the files in this folder|Is this a project you created or one you trust/i,
    'trust',
  ],
  [/Bypass Permissions mode.*accept|Yes, I accept/i, 'bypass-confirm'],
];

export type PaneScreen =
  'ready' | 'working' | 'login' | 'resume-dialog' | 'trust' | 'bypass-confirm' | 'unknown';

// A menu row (`❯ 1. Yes, I trust this folder`) carries the glyph but is not the input line.
const MENU_ROW_RE = /^\s*❯\s*\d+\.\s/;

// An answer from the model: what clears an earlier "Please run /login".
const ANSWER_RE = /^\s*[●⏺]\s/;

/**
 * Reads a pane's last lines as a state. A dialog (trust, the resume dialog, the bypass
 * confirmation) counts only while no input line is drawn below it: once answered, its text
 * may linger above the prompt. A login error ("Not logged in · Please run /login") counts
 * until an answer from the model follows it, because Claude Code keeps drawing its input box
 * under it although nothing can be done without a login. "esc to interrupt" anywhere means a
 * turn is running (the spinner and footer sit around the input box, always drawn).
 */
export function readScreen(lines: readonly string[]): PaneScreen {
  let blocking: { idx: number; name: PaneScreen } | null = null;
  let lastPrompt = -1;
  let lastAnswer = -1;
  let working = false;
  lines.forEach((line, idx) => {
    for (const [re, name] of BLOCKING_SCREENS)
      if (re.test(line)) blocking = { idx, name: name as PaneScreen };
    if (WORKING_RE.test(line)) working = true;
    if (ANSWER_RE.test(line)) lastAnswer = idx;
    if (PROMPT_RE.test(line) && !MENU_ROW_RE.test(line)) lastPrompt = idx;
  });
  const b = blocking as { idx: number; name: PaneScreen } | null;
  if (b && (b.name === 'login' ? b.idx > lastAnswer : b.idx >= lastPrompt)) return b.name;
  if (working) return 'working';
  return lastPrompt >= 0 ? 'ready' : 'unknown';
}

/** The menu key of "Resume full session as-is" in Claude Code's resume dialog. */
export function fullResumeKey(lines: readonly string[]): string {
  return /(\d)\.\s*Resume full session/i.exec(lines.join('\n'))?.[1] ?? '2';
}

/** The text in the input box (after the prompt glyph), or null when no box is shown. */
export function inputBoxText(lines: readonly string[]): string | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (PROMPT_RE.test(line))
      return line
        .replace(PROMPT_RE, '')
        .replace(/[│\s\u00a0]+$/, '')
        .trim();
  }
  return null;
}

/**
 * Types a prompt into an agent and makes sure it was submitted: paste, pause, Enter, then
 * check that the text left the input box, retrying the Enter (Claude Code swallows an Enter
 * that arrives inside a paste burst). Returns false when it never left the box.
 */
export async function deliverPrompt(
  tmux: Tmux,
  session: string,
  text: string,
  opts: { retries?: number } = {},
): Promise<boolean> {
  await tmux.pasteText(session, text, { enter: false });
  const probe = text.replace(/\s+/g, ' ').trim().slice(0, 24);
  let delay = 150;
  for (let attempt = 0; attempt <= (opts.retries ?? 3); attempt++) {
    await sleep(delay);
    await tmux.sendKeys(session, ['Enter']);
    await sleep(250);
    const box = inputBoxText(await tmux.capturePane(session, 30));
    const stuck =
      box !== null &&
      box.length > 0 &&
      (box.includes(probe.slice(0, 12)) || /\[Pasted text/.test(box));
    if (!stuck) return true;
    delay = Math.min(delay * 2, 1000);
  }
  return false;
}

/** Waits until the agent shows its prompt (or a blocking screen, or it dies). */
export async function waitReady(
  tmux: Tmux,
  session: string,
  timeoutMs: number,
  isReadySignal?: () => boolean,
): Promise<{ screen: PaneScreen | 'dead'; lines: string[] }> {
  const deadline = Date.now() + timeoutMs;
  let lines: string[] = [];
  for (;;) {
    const pane = (await tmux.sessions()).get(session);
    if (!paneRunsAgent(pane)) {
      lines = pane ? await tmux.capturePane(session, 40).catch(() => []) : [];
      return { screen: 'dead', lines };
    }
    lines = await tmux.capturePane(session, 40);
    const screen = readScreen(lines);
    if (screen !== 'ready' && screen !== 'working' && screen !== 'unknown')
      return { screen, lines };
    if (isReadySignal?.() || screen === 'ready') return { screen: 'ready', lines };
    if (Date.now() > deadline) return { screen, lines };
    await sleep(150);
  }
}

export type StopOutcome = 'absent' | 'graceful' | 'killed';

/**
 * Stops an agent: gracefully first (interrupt, then `/exit`, then Ctrl-C twice), and kills
 * the tmux session after `timeoutMs`. Returns how it ended.
 */
export async function stopAgent(
  tmux: Tmux,
  session: string,
  timeoutMs: number,
): Promise<StopOutcome> {
  return (await stopAgents(tmux, [session], timeoutMs)).get(session)!;
}

/**
 * Stops several agents together, each as `stopAgent` does. Each step goes to every pane in
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
    for (;;) {
      live = running(await tmux.sessions());
      if (!live.length || Date.now() >= until) return;
      await sleep(100);
    }
  };
  const keys = (targets: string[], key: string) =>
    tmux.runEach(targets, (s) => ['send-keys', '-t', paneTarget(s), key]);
  const stopGracefully = async () => {
    await keys(live, 'Escape');
    await sleep(100);
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
    for (const s of live) result.set(s, 'killed');
  }
  for (const s of present) if (!result.has(s)) result.set(s, 'graceful');
  await tmux.runEach(
    present,
    (s) => ['kill-session', '-t', `=${s}`],
    (s) => tmux.killSession(s),
  );
  return result;
}

/** Whether this configuration's agent knows `--resume` (anything Claude-like does). */
export function canResume(cfg: Config): boolean {
  return !cfg.agent.args.includes('--no-session-persistence');
}
