/**
 * One turn: a prompt in, work shown by the spinner, Bash tool calls (a task's `sim-tool:`
 * lines and its `run:` command), the reply or a limit, and the hooks a real turn fires.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readShellWord } from '../lib/core/shell.js';
import { env, cwd, num, readSim, TURN_MS } from './env.js';
import { fireHook, refreshStatusline } from './hooks.js';
import { writeRegistry } from './registry.js';
import { drawPrompt, out, printAbovePrompt, screen, spin } from './screen.js';
import { assistant, conversation, writeLine } from './transcript.js';

/** Prompts submitted while a turn runs, taken in order when it ends. */
export const queue: string[] = [];

/** The `run:` command of an earlier prompt in this conversation about the same task file. */
function earlierRunFor(taskPath: string): string | undefined {
  let lines: string[] = [];
  try {
    lines = fs.readFileSync(conversation.file, 'utf8').trim().split('\n');
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

export async function turn(prompt: string): Promise<void> {
  screen.busy = true;
  writeRegistry('busy');
  screen.interrupted = false;
  out(`\r\u001b[2K> ${prompt.split('\n')[0]}${prompt.includes('\n') ? ' …' : ''}\n`);
  const directive = /^\/sim\s+(\w+)\s*([\s\S]*)$/.exec(prompt.trim());
  if (directive?.[1] === 'print') {
    // Pane text only, as an agent without hooks would show it.
    for (const l of directive[2]!.split('\n')) printAbovePrompt(l);
    screen.busy = false;
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
  screen.busy = false;
  writeRegistry('idle');
  out('\n');
  drawPrompt();
  const next = queue.shift();
  if (next !== undefined) void turn(next);
}
