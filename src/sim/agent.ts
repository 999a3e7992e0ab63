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
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readShellWord, runShellCommand } from '../lib/core/shell.js';
import { processAlive } from '../lib/claude/registry.js';
import { encodeProjectDir } from '../lib/claude/transcript-path.js';

const VERSION = '2.1.328-sim';
const NBSP = '\u00a0';
const PASTE_START = '\u001b[200~';
const PASTE_END = '\u001b[201~';
const num = (v: string | undefined, d: number) => (v && Number.isFinite(Number(v)) ? Number(v) : d);

const env = process.env;
const configDir = env.CLAUDE_CONFIG_DIR || path.join(os.homedir(), '.claude');
const cwd = process.cwd();
const START_MS = num(env.SIM_START_MS, 300);
const TURN_MS = num(env.SIM_TURN_MS, 400);
/** An Enter this soon after a paste ends is part of the paste burst: swallowed. */
const PASTE_GUARD_MS = num(env.SIM_PASTE_GUARD_MS, 40);
/**
 * After a `--resume`, Enters are ignored for this long once the prompt is drawn: the race
 * seen with Claude Code 2.1.332, where a prompt pasted into a just-resumed session stayed in
 * the input box unsubmitted.
 */
const RESUME_DEAF_MS = num(env.SIM_RESUME_DEAF_MS, 0);
/** The SessionStart hook runs this long after the prompt is drawn (0: before, as usual). */
const SESSION_START_DELAY_MS = num(env.SIM_SESSION_START_DELAY_MS, 0);

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

const simFile = (name: string) => path.join(configDir, 'sim', name);
const readSim = (name: string): string | null => {
  try {
    return fs.readFileSync(simFile(name), 'utf8');
  } catch {
    return null;
  }
};

/** Finds `<id>.jsonl` in any project dir of this config dir (as Claude Code 2.1.223+ does). */
function findTranscript(id: string): string | null {
  const projects = path.join(configDir, 'projects');
  const own = path.join(projects, encodeProjectDir(cwd), `${id}.jsonl`);
  if (fs.existsSync(own)) return own;
  let dirs: string[] = [];
  try {
    dirs = fs.readdirSync(projects);
  } catch {
    return null;
  }
  for (const d of dirs) {
    const f = path.join(projects, d, `${id}.jsonl`);
    if (fs.existsSync(f)) return f;
  }
  return null;
}

// ---- the session registry (Claude Code 2.1.3xx: <configDir>/sessions/<pid>.json) ---------

const registryFile = path.join(configDir, 'sessions', `${process.pid}.json`);
function writeRegistry(status: 'busy' | 'idle'): void {
  if (env.SIM_REGISTRY === '0' || !sessionIdValue) return;
  try {
    fs.mkdirSync(path.dirname(registryFile), { recursive: true });
    fs.writeFileSync(
      registryFile,
      JSON.stringify({
        pid: process.pid,
        sessionId: sessionIdValue,
        cwd,
        startedAt: Date.now(),
        kind: 'interactive',
        status,
        statusUpdatedAt: Date.now(),
      }),
    );
  } catch {
    // best effort, as the real one
  }
}

/** A live process of this config dir that has conversation `id` open (its registry). */
function openElsewhere(id: string): boolean {
  let names: string[];
  try {
    names = fs.readdirSync(path.join(configDir, 'sessions'));
  } catch {
    return false;
  }
  for (const name of names) {
    const pid = Number(/^(\d+)\.json$/.exec(name)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      const e = JSON.parse(fs.readFileSync(path.join(configDir, 'sessions', name), 'utf8')) as {
        sessionId?: string;
      };
      if (e.sessionId !== id) continue;
      if (processAlive(pid)) return true;
    } catch {
      // gone, or not ours to read
    }
  }
  return false;
}

// ---- the screen -------------------------------------------------------------------------

const out = (s: string) => process.stdout.write(s);
let input = '';
let pasted = 0;
let busy = false;
let ready = false;

function drawPrompt(): void {
  const shown =
    pasted > 0 && input.includes('\n')
      ? `[Pasted text #${pasted} +${input.split('\n').length - 1} lines]`
      : input;
  out(`\r\u001b[2K❯${NBSP}${shown}`);
}

function printAbovePrompt(text: string): void {
  out(`\r\u001b[2K${text}\n`);
  if (!busy && ready) drawPrompt();
}

// ---- transcript -------------------------------------------------------------------------

let sessionIdValue = '';
let transcript = '';
let lastUuid: string | null = null;
let copiedFrom: string | null = null;

function writeLine(entry: Record<string, unknown>): void {
  const uuid = randomUUID();
  const line = {
    parentUuid: lastUuid,
    isSidechain: false,
    userType: 'external',
    cwd,
    sessionId: sessionIdValue,
    version: VERSION,
    gitBranch: 'HEAD',
    uuid,
    timestamp: new Date().toISOString(),
    ...entry,
  };
  lastUuid = uuid;
  fs.mkdirSync(path.dirname(transcript), { recursive: true });
  fs.appendFileSync(transcript, `${JSON.stringify(line)}\n`);
}

const assistant = (content: unknown[], extra: Record<string, unknown> = {}) =>
  writeLine({
    type: 'assistant',
    requestId: `req_sim_${randomUUID().slice(0, 8)}`,
    message: {
      id: `msg_sim_${randomUUID().slice(0, 8)}`,
      type: 'message',
      role: 'assistant',
      model: 'claude-sim',
      content,
      stop_reason: null,
      usage: { input_tokens: 10, output_tokens: 5 },
    },
    ...extra,
  });

// ---- hooks and statusline ---------------------------------------------------------------

interface Settings {
  hooks?: Record<
    string,
    Array<{ hooks?: Array<{ type?: string; command?: string; timeout?: number }> }>
  >;
  statusLine?: { command?: string };
}

function settings(): Settings {
  try {
    return JSON.parse(fs.readFileSync(path.join(configDir, 'settings.json'), 'utf8')) as Settings;
  } catch {
    return {};
  }
}

function runShell(command: string, stdin: string, timeoutMs: number): Promise<string> {
  return runShellCommand(command, stdin, {
    cwd,
    env: { ...env, CLAUDE_PROJECT_DIR: cwd, CLAUDECODE: '1' },
    timeoutMs,
  });
}

async function fireHook(event: string, fields: Record<string, unknown> = {}): Promise<void> {
  if (env.SIM_HOOKS === '0') return;
  const groups = settings().hooks?.[event] ?? [];
  const payload = JSON.stringify({
    session_id: sessionIdValue,
    transcript_path: transcript,
    cwd,
    hook_event_name: event,
    ...fields,
  });
  const runs: Promise<string>[] = [];
  for (const g of groups)
    for (const h of g.hooks ?? [])
      if (h.type === 'command' && h.command)
        runs.push(runShell(h.command, payload, (h.timeout ?? 60) * 1000));
  await Promise.all(runs);
}

async function refreshStatusline(): Promise<void> {
  const command = settings().statusLine?.command;
  if (!command || env.SIM_HOOKS === '0') return;
  let rateLimits: unknown;
  try {
    rateLimits = JSON.parse(readSim('usage.json') ?? 'null');
  } catch {
    rateLimits = undefined;
  }
  const payload = JSON.stringify({
    session_id: sessionIdValue,
    transcript_path: transcript,
    cwd,
    model: { id: 'claude-sim', display_name: 'Sim' },
    version: VERSION,
    ...(rateLimits ? { rate_limits: rateLimits } : {}),
  });
  await runShell(command, payload, 5000);
}

// ---- turns ------------------------------------------------------------------------------

let interrupted = false;

async function spin(ms: number, label = 'Working'): Promise<boolean> {
  const glyphs = ['✻', '✶', '✳', '✢'];
  const start = Date.now();
  let i = 0;
  while (Date.now() - start < ms) {
    if (interrupted) return false;
    const secs = Math.floor((Date.now() - start) / 1000);
    out(`\r\u001b[2K${glyphs[i++ % glyphs.length]} ${label}… (${secs}s · esc to interrupt)`);
    await sleep(Math.min(100, ms));
  }
  out('\r\u001b[2K');
  return true;
}

/** The `run:` command of an earlier prompt in this conversation about the same task file. */
function earlierRunFor(taskPath: string): string | undefined {
  let lines: string[] = [];
  try {
    lines = fs.readFileSync(transcript, 'utf8').trim().split('\n');
  } catch {
    return undefined;
  }
  for (const line of lines.reverse()) {
    try {
      const e = JSON.parse(line) as { type?: string; message?: { content?: unknown } };
      const c = e.message?.content;
      if (e.type !== 'user' || typeof c !== 'string') continue;
      if (taskPathOf(c) !== taskPath) continue;
      const run = /\brun:\s*(.+)$/m.exec(c)?.[1]?.trim();
      if (run) return run;
    } catch {
      // a torn line
    }
  }
  return undefined;
}

/** Splits `run: <command ...>` into argv with shell quoting (see readShellWord), expanding nothing. */
function splitArgv(text: string): string[] {
  const argv: string[] = [];
  for (let w = readShellWord(text, 0); w; w = readShellWord(text, w.end)) argv.push(w.word);
  return argv;
}

/** The task file a prompt names: the first absolute `.md` path after "task in" or "read". */
function taskPathOf(prompt: string): string | undefined {
  for (const m of prompt.matchAll(/\b(?:task in|task file|read)\s+/gi)) {
    const w = readShellWord(prompt, m.index + m[0].length)?.word.replace(/[.,;:)]+$/, '');
    if (w?.startsWith('/') && w.endsWith('.md')) return w;
  }
  return undefined;
}

const CLI = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'bin',
  'claude-failover.js',
);

function runCommand(argv: string[]): { status: number | null; output: string } {
  const [cmd, ...args] = argv;
  if (!cmd) return { status: null, output: '' };
  const file = cmd === 'claude-failover' ? process.execPath : cmd;
  const fullArgs = cmd === 'claude-failover' ? [CLI, ...args] : args;
  const res = spawnSync(file, fullArgs, { cwd, env, encoding: 'utf8', timeout: 60_000 });
  return { status: res.status, output: `${res.stdout ?? ''}${res.stderr ?? ''}`.trim() };
}

function parseDurationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(text.trim());
  if (!m) return TURN_MS;
  const n = Number(m[1]);
  return m[2] === 'm' ? n * 60_000 : m[2] === 'ms' ? n : n * 1000;
}

/** A Bash tool call as Claude Code records it: the tool_use, then its tool_result. */
function bashTool(command: string): { status: number | null; output: string } {
  const id = `toolu_sim_${randomUUID().slice(0, 8)}`;
  assistant([{ type: 'tool_use', id, name: 'Bash', input: { command } }]);
  printAbovePrompt(`● Bash(${command})`);
  const res = runCommand(splitArgv(command));
  writeLine({
    type: 'user',
    message: {
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: id, content: res.output }],
    },
  });
  return res;
}

async function limitTurn(message: string): Promise<void> {
  printAbovePrompt(`  ⎿  ${message}`);
  printAbovePrompt('     /upgrade to increase your usage limit.');
  assistant([{ type: 'text', text: message }], {
    isApiErrorMessage: true,
    apiErrorStatus: 429,
    error: 'rate_limit',
    errorDetails:
      '429 {"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed your account\'s rate limit. Please try again later."}}',
    message: {
      id: `msg_sim_${randomUUID().slice(0, 8)}`,
      type: 'message',
      role: 'assistant',
      model: '<synthetic>',
      content: [{ type: 'text', text: message }],
      stop_reason: 'stop_sequence',
      usage: { input_tokens: 0, output_tokens: 0 },
    },
  });
  await fireHook('StopFailure', {
    error: 'rate_limit',
    error_details: '429 Too Many Requests',
    last_assistant_message: message,
  });
}

async function turn(prompt: string): Promise<void> {
  busy = true;
  writeRegistry('busy');
  interrupted = false;
  out(`\r\u001b[2K> ${prompt.split('\n')[0]}${prompt.includes('\n') ? ' …' : ''}\n`);
  const directive = /^\/sim\s+(\w+)\s*([\s\S]*)$/.exec(prompt.trim());
  if (directive?.[1] === 'print') {
    // Pane text only, as an agent without hooks would show it.
    for (const l of directive[2]!.split('\n')) printAbovePrompt(l);
    busy = false;
    writeRegistry('idle');
    drawPrompt();
    return;
  }
  if (directive?.[1] === 'crash') {
    out('\n');
    process.exit(num(directive[2], 1));
  }
  writeLine({ type: 'user', message: { role: 'user', content: prompt } });
  await fireHook('UserPromptSubmit', { prompt });

  if (readSim('auth-failed') !== null) {
    // Bad credentials show only on the first request, as with Claude Code.
    if (await spin(100)) {
      const msg =
        'API Error: 401 {"type":"error","error":{"type":"authentication_error","message":"OAuth token has expired."}} · Please run /login';
      printAbovePrompt(`  ⎿  ${msg}`);
      await fireHook('StopFailure', {
        error: 'authentication_failed',
        error_details: '401 Unauthorized',
        last_assistant_message: msg,
      });
    }
    return endTurn(false);
  }
  const limit = directive?.[1] === 'limit' ? directive[2]!.trim() : readSim('limit')?.trim();
  if (limit) {
    if (await spin(150)) await limitTurn(limit);
    return endTurn(false);
  }
  if (directive?.[1] === 'error500') {
    const n = num(directive[2], 3);
    for (let k = 1; k <= n; k++) {
      printAbovePrompt(
        `  ⎿  API Error (500 {"type":"error","error":{"type":"api_error","message":"Internal server error: upstream rate limit"}}) · Retrying in 15s · attempt ${k}/10`,
      );
      if (!(await spin(100, 'Retrying'))) return endTurn(true);
    }
  }
  let reply = 'Done.';
  let workMs = directive?.[1] === 'sleep' ? num(directive[2], TURN_MS) : TURN_MS;
  if (directive?.[1] === 'say') reply = directive[2]!.trim();
  const taskPath = taskPathOf(prompt);
  const tool: string[] = [];
  if (taskPath) {
    let text = '';
    try {
      text = fs.readFileSync(taskPath, 'utf8');
    } catch {
      text = '';
    }
    for (const m of text.matchAll(/^sim-(work|say|tool):\s*(.+)$/gm)) {
      if (m[1] === 'work') workMs = parseDurationMs(m[2]!);
      else if (m[1] === 'say') reply = m[2]!.trim();
      else tool.push(m[2]!.trim());
    }
    if (!/^sim-say:/m.test(text)) reply = `Finished the task in ${path.basename(taskPath)}.`;
  }
  for (const command of tool) bashTool(command);
  if (!(await spin(workMs))) return endTurn(true);
  // "When it is finished, run: <command>": an agent runs it, and so do we. A prompt that
  // only says to continue a task (after a swap) relies on what the conversation said before.
  const run =
    /\brun:\s*(.+)$/m.exec(prompt)?.[1]?.trim() ?? (taskPath ? earlierRunFor(taskPath) : undefined);
  if (run && taskPath) {
    const res = bashTool(run);
    if (res.status !== 0)
      reply = `${reply} (the command failed: ${res.output.split('\n')[0] ?? ''})`;
  }
  assistant([{ type: 'text', text: reply }]);
  printAbovePrompt(`● ${reply}`);
  await fireHook('Stop', { stop_hook_active: false, last_assistant_message: reply });
  return endTurn(false);
}

async function endTurn(wasInterrupted: boolean): Promise<void> {
  if (wasInterrupted) printAbovePrompt('  ⎿  Interrupted · What should Claude do instead?');
  await refreshStatusline();
  busy = false;
  writeRegistry('idle');
  out('\n');
  drawPrompt();
  const next = queue.shift();
  if (next !== undefined) void turn(next);
}

// ---- input ------------------------------------------------------------------------------

const queue: string[] = [];
let inPaste = false;
let pasteEndedAt = 0;
let lastCtrlC = 0;
let deafUntil = 0;
let exiting = false;

async function exit(code: number): Promise<void> {
  if (exiting) return;
  exiting = true;
  out('\r\u001b[2K\u001b[?2004l\n');
  await fireHook('SessionEnd', { reason: 'prompt_input_exit' });
  fs.rmSync(registryFile, { force: true });
  process.exit(code);
}

function submit(): void {
  const text = input;
  input = '';
  pasted = 0;
  if (!text.trim()) return drawPrompt();
  if (text.trim() === '/exit' || text.trim() === '/quit') {
    void exit(0);
    return;
  }
  if (busy) {
    queue.push(text);
    printAbovePrompt(`  ⎿  queued: ${text.split('\n')[0]}`);
    return;
  }
  void turn(text);
}

function onData(chunk: string): void {
  let s = chunk;
  while (s.length) {
    if (inPaste) {
      const end = s.indexOf(PASTE_END);
      input += (end >= 0 ? s.slice(0, end) : s).replace(/\r\n?/g, '\n');
      if (end < 0) return;
      inPaste = false;
      pasteEndedAt = Date.now();
      s = s.slice(end + PASTE_END.length);
      if (!busy) drawPrompt();
      continue;
    }
    if (s.startsWith(PASTE_START)) {
      inPaste = true;
      pasted++;
      s = s.slice(PASTE_START.length);
      continue;
    }
    const c = s[0]!;
    s = s.slice(1);
    if (c === '\r' || c === '\n') {
      if (Date.now() - pasteEndedAt < PASTE_GUARD_MS) continue; // swallowed, as Claude Code does
      if (Date.now() < deafUntil) continue; // just resumed: the Enter is lost (see RESUME_DEAF_MS)
      if (readSim('deaf') !== null) continue; // a test wants every Enter lost for now
      submit();
    } else if (c === '\u0003') {
      if (input) input = '';
      else if (Date.now() - lastCtrlC < 2000) {
        void exit(0);
        return;
      } else printAbovePrompt('Press Ctrl-C again to exit');
      lastCtrlC = Date.now();
      if (!busy) drawPrompt();
    } else if (c === '\u0015') {
      input = '';
      pasted = 0;
      if (!busy) drawPrompt();
    } else if (c === '\u007f' || c === '\b') {
      input = input.slice(0, -1);
      if (!busy) drawPrompt();
    } else if (c === '\u001b') {
      // A lone Escape interrupts a running turn; other escape sequences are ignored.
      const seq = /^\[[0-9;?]*[A-Za-z~]/.exec(s);
      if (seq) s = s.slice(seq[0].length);
      else if (busy) interrupted = true;
    } else if (c >= ' ' || c === '\t') {
      input += c;
      if (!busy) drawPrompt();
    }
  }
}

// ---- start ------------------------------------------------------------------------------

/** The last `n` messages of a transcript, drawn the way the TUI shows them. */
function historyTail(file: string, n: number): string[] {
  let lines: string[] = [];
  try {
    lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  } catch {
    return [];
  }
  const shown: string[] = [];
  for (const line of lines) {
    try {
      const e = JSON.parse(line) as {
        type?: string;
        isApiErrorMessage?: boolean;
        message?: { content?: unknown };
      };
      const c = e.message?.content;
      const text =
        typeof c === 'string'
          ? c
          : Array.isArray(c)
            ? (c as Array<{ type?: string; text?: string }>)
                .filter((b) => b.type === 'text')
                .map((b) => b.text)
                .join(' ')
            : '';
      if (!text) continue;
      if (e.type === 'user') shown.push(`> ${text.split('\n')[0]}`);
      else if (e.isApiErrorMessage) shown.push(`  ⎿  ${text}`);
      else if (e.type === 'assistant') shown.push(`● ${text}`);
    } catch {
      // a torn line
    }
  }
  return shown.slice(-n);
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
  if (process.stdin.isTTY) process.stdin.setRawMode(true);
  process.stdin.setEncoding('utf8');
  if (args.resume) {
    const found = findTranscript(args.resume);
    if (!found) {
      process.stderr.write(`No conversation found with session ID: ${args.resume}\n`);
      process.exit(1);
    }
    sessionIdValue = args.resume;
    transcript = found;
    if (env.SIM_RESUME_COPY !== '0' && openElsewhere(args.resume)) {
      // Claude Code 2.1.33x: a conversation open in another process is resumed as a copy.
      sessionIdValue = randomUUID();
      transcript = path.join(path.dirname(found), `${sessionIdValue}.jsonl`);
      fs.copyFileSync(found, transcript);
      copiedFrom = args.resume;
    }
  } else {
    sessionIdValue = args.sessionId ?? randomUUID();
    transcript = path.join(configDir, 'projects', encodeProjectDir(cwd), `${sessionIdValue}.jsonl`);
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
    out(`Resumed conversation ${sessionIdValue}\n`);
    if (copiedFrom)
      out(
        `note: session ${copiedFrom} is open in another Claude Code process, so this started a copy as ${sessionIdValue}. The original conversation is unchanged.\n`,
      );
    for (const text of historyTail(transcript, 4)) out(`${text}\n`);
  }
  const sessionStart = () =>
    fireHook('SessionStart', { source: args.resume ? 'resume' : 'startup', model: 'claude-sim' });
  // With SIM_SESSION_START_DELAY_MS the prompt is drawn (and takes input) before the
  // SessionStart hook runs: the screen looks ready before the agent says so.
  if (!SESSION_START_DELAY_MS) await sessionStart();
  await refreshStatusline();
  out('\n');
  ready = true;
  if (args.resume && RESUME_DEAF_MS > 0) deafUntil = Date.now() + RESUME_DEAF_MS;
  writeRegistry('idle');
  drawPrompt();
  process.stdin.on('data', (d: string) => onData(d));
  if (SESSION_START_DELAY_MS) {
    await sleep(SESSION_START_DELAY_MS);
    await sessionStart();
  }
}

process.on('SIGHUP', () => void exit(129));
process.on('SIGTERM', () => void exit(143));
void main();
