/**
 * What an agent's tmux pane shows, read from its text: Claude Code's input box, a running
 * turn, the dialogs that block it (login, trust, resume, bypass), and whether the pane still
 * runs an agent at all. Screens change with Claude Code releases; the patterns live here.
 */
import type { SessionState } from '../core/state-schema.js';
import type { PaneInfo } from '../core/tmux.js';
import type { AgentStatusEntry } from '../queue/status-file.js';

/** What `claude --resume` prints when it cannot find the transcript (seen with 2.1.328). */
export const NO_CONVERSATION_RE = /No conversation found with session ID:\s*([0-9a-f-]{8,})/i;

const SHELLS = new Set(['bash', 'sh', 'zsh', 'fish', 'dash', 'ksh', 'tcsh', 'csh']);

/** Whether a pane still runs an agent: alive, and not back at a shell prompt. */
export function paneRunsAgent(pane: PaneInfo | undefined): boolean {
  return Boolean(pane && !pane.dead && !SHELLS.has(pane.currentCommand.replace(/^-/, '')));
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

export type SessionRunState = 'idle' | 'working' | 'dead' | 'stopped' | 'degraded' | 'starting';

/** A session's run state from what tmux, the state file and the hooks say. */
export function sessionRunState(
  st: SessionState | undefined,
  pane: PaneInfo | undefined,
  hook: AgentStatusEntry | undefined,
  now: Date,
  readyTimeout: number,
): SessionRunState {
  if (st?.stopped) return 'stopped';
  if (st?.degraded) return 'degraded';
  if (!pane) return st?.launchedAt ? 'dead' : 'stopped';
  if (!paneRunsAgent(pane)) return 'dead';
  if (hook) return hook.state;
  const launched = st?.launchedAt ? Date.parse(st.launchedAt) : 0;
  return now.getTime() - launched < readyTimeout ? 'starting' : 'idle';
}
