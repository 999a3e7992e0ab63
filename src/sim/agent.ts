/**
 * A simulated Claude Code agent, shipped with the package for `demo` and used by the test
 * suite where the real client would be too slow. It behaves like Claude Code where the
 * toolkit looks:
 *
 * - a TUI in a tmux pane: an input line starting with `❯` + NBSP when idle, a spinner line
 *   with `esc to interrupt` while a turn runs, bracketed paste, and an Enter that arrives
 *   inside a paste burst is swallowed (as Claude Code does);
 * - a transcript at `$CLAUDE_CONFIG_DIR/projects/<encoded cwd>/<id>.jsonl` with Claude-style
 *   lines (user, assistant text and tool_use, the 429 api-error record);
 * - `--resume <id>` continues that file, and a missing one ends with
 *   `No conversation found with session ID: <id>` and status 1;
 * - the hooks (`SessionStart`, `UserPromptSubmit`, `Stop`, `StopFailure`) and the
 *   `statusLine` command from `$CLAUDE_CONFIG_DIR/settings.json`, with Claude-shaped JSON.
 *
 * The account's condition lives in its config dir, so it follows the account as real limits
 * do: `sim/limit` (its text is the limit message every turn ends with), `sim/login` (a
 * login screen; the agent never gets ready), `sim/auth-failed` (it starts, but every request
 * fails with a 401 and `StopFailure` `authentication_failed`), `sim/usage.json` (the
 * statusline's `rate_limits`), `sim/resume-dialog` (the "Resume from summary" dialog on
 * --resume) and `sim/deaf` (every Enter is lost: a prompt stays in the input box).
 *
 * Like Claude Code 2.1.3xx it keeps a session registry entry,
 * `$CLAUDE_CONFIG_DIR/sessions/<pid>.json` (`sessionId`, `status` idle or busy), resumes a
 * conversation that another live process of the same config dir holds open as a copy under
 * a new id ("started a copy as <id>"; with `SIM_RESUME_COPY=0` it shares the transcript
 * instead, as an interactive 2.1.328/2.1.332 does), and with `SIM_RESUME_DEAF_MS` loses the Enters that
 * come that soon after a `--resume` (the race where a prompt stayed unsubmitted).
 *
 * A prompt that names a task file (`... the task in /path/x.md ...`) is "carried out": the
 * file may hold `sim-work: 2s`, `sim-say: text` and `sim-tool: <command>` lines, and a
 * `run: claude-failover ...` at the end of the prompt is executed (argv, no shell), as an
 * agent would. Paths and commands are read as shell words (quotes, `$'...'` and backslash
 * escapes are honoured; nothing is expanded), which is how the prompt writes a task id such
 * as `it's $(x)` or one with a newline. The command is what follows the first `run:`. Prompts starting with `/sim` steer it in tests: `/sim say TEXT`,
 * `/sim print TEXT` (pane only: no hook, no transcript), `/sim limit TEXT`,
 * `/sim error500 N`, `/sim sleep MS`, `/sim crash CODE`.
 *
 * This file parses the arguments and starts up (a resume, the login screen, the resume
 * dialog); env.ts holds the settings, screen.ts the TUI, input.ts the keystrokes, turn.ts a
 * turn, transcript.ts the JSONL lines, hooks.ts the hooks and statusline, registry.ts the
 * session registry entry.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { encodeProjectDir } from '../lib/claude/transcript-path.js';
import {
  configDir,
  cwd,
  env,
  readSim,
  RESUME_DEAF_MS,
  SESSION_START_DELAY_MS,
  START_MS,
  VERSION,
} from './env.js';
import { fireHook, refreshStatusline } from './hooks.js';
import { deafenFor, exit, onData } from './input.js';
import { openElsewhere, writeRegistry } from './registry.js';
import { drawPrompt, out, screen } from './screen.js';
import { conversation, findTranscript, historyTail } from './transcript.js';

function parseArgs(argv: string[]): { resume: string | null; sessionId: string | null } {
  let resume: string | null = null;
  let sessionId: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--resume' || a === '-r') resume = argv[++i] ?? null;
    else if (a.startsWith('--resume=')) resume = a.slice('--resume='.length);
    else if (a === '--session-id') sessionId = argv[++i] ?? null;
    else if (a === '--version' || a === '-v') {
      process.stdout.write(`${VERSION} (Claude Code)\n`);
      process.exit(0);
    }
  }
  return { resume, sessionId };
}

async function resumeDialog(): Promise<void> {
  // Claude Code 2.1.328's strings (from its binary; see test/fixtures/real-claude/).
  out('\nThis session is 2h 14m old and 183.2k tokens.\n\n');
  out(
    'Resuming the full session uses a lot of your usage limits. Resuming from a summary uses less.\n\n',
  );
  out(
    "❯ 1. Resume from summary (instant, recommended)\n  2. Resume full session as-is\n  3. Don't ask again\n\n",
  );
  out('Enter to confirm · Esc to cancel\n');
  await new Promise<void>((resolve) => {
    const onKey = (d: Buffer) => {
      const k = d.toString('utf8');
      if (k.includes('2')) {
        process.stdin.off('data', onKey);
        out('Resuming the full session.\n');
        resolve();
      } else if (k.includes('1') || k.includes('\r')) {
        process.stdin.off('data', onKey);
        out('Resuming from a summary.\n');
        resolve();
      }
    };
    process.stdin.on('data', onKey);
  });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  let copiedFrom: string | null = null;
  if (process.stdin.isTTY) process.stdin.setRawMode(true);
  process.stdin.setEncoding('utf8');
  if (args.resume) {
    const found = findTranscript(args.resume);
    if (!found) {
      process.stderr.write(`No conversation found with session ID: ${args.resume}\n`);
      process.exit(1);
    }
    conversation.id = args.resume;
    conversation.file = found;
    if (env.SIM_RESUME_COPY !== '0' && openElsewhere(args.resume)) {
      // Claude Code 2.1.33x: a conversation open in another process is resumed as a copy.
      conversation.id = randomUUID();
      conversation.file = path.join(path.dirname(found), `${conversation.id}.jsonl`);
      fs.copyFileSync(found, conversation.file);
      copiedFrom = args.resume;
    }
  } else {
    conversation.id = args.sessionId ?? randomUUID();
    conversation.file = path.join(
      configDir,
      'projects',
      encodeProjectDir(cwd),
      `${conversation.id}.jsonl`,
    );
  }
  out(`\u001b[?2004h`);
  out(` ✻ Welcome to Claude Code (simulated ${VERSION})\n\n   cwd: ${cwd}\n\n`);
  if (readSim('login') !== null) {
    out(
      'Select login method:\n\n ❯ 1. Claude account with subscription\n   2. Anthropic Console account\n',
    );
    // Waits for the operator, like the real one (stdin keeps the process alive).
    process.stdin.resume();
    await new Promise(() => undefined);
  }
  await sleep(START_MS);
  if (args.resume && readSim('resume-dialog') !== null) await resumeDialog();
  if (args.resume) {
    // Claude Code redraws the conversation on a resume, old error messages included.
    out(`Resumed conversation ${conversation.id}\n`);
    if (copiedFrom)
      out(
        `note: session ${copiedFrom} is open in another Claude Code process, so this started a copy as ${conversation.id}. The original conversation is unchanged.\n`,
      );
    for (const text of historyTail(conversation.file, 4)) out(`${text}\n`);
  }
  const sessionStart = () =>
    fireHook('SessionStart', { source: args.resume ? 'resume' : 'startup', model: 'claude-sim' });
  // With SIM_SESSION_START_DELAY_MS the prompt is drawn (and takes input) before the
  // SessionStart hook runs: the screen looks ready before the agent says so.
  if (!SESSION_START_DELAY_MS) await sessionStart();
  out('\n');
  screen.ready = true;
  if (args.resume && RESUME_DEAF_MS > 0) deafenFor(RESUME_DEAF_MS);
  writeRegistry('idle');
  drawPrompt();
  process.stdin.on('data', (d: string) => onData(d));
  // Claude Code runs its statusline once it has drawn, debounced by 300 ms, not before the
  // prompt.
  setTimeout(() => void refreshStatusline().catch(() => undefined), 300);
  if (SESSION_START_DELAY_MS) {
    await sleep(SESSION_START_DELAY_MS);
    await sessionStart();
  }
}

process.on('SIGHUP', () => void exit(129));
process.on('SIGTERM', () => void exit(143));
void main();
