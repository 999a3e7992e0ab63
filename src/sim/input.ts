/**
 * Keystrokes: bracketed paste (an Enter inside a paste burst is swallowed, as Claude Code
 * does), Enter, Ctrl-C twice to exit, Ctrl-U, Backspace, and Escape to interrupt a turn.
 */
import fs from 'node:fs';
import { PASTE_GUARD_MS, readSim } from './env.js';
import { fireHook } from './hooks.js';
import { registryFile } from './registry.js';
import { drawPrompt, out, printAbovePrompt, screen } from './screen.js';
import { queue, turn } from './turn.js';

const PASTE_START = '\u001b[200~';
const PASTE_END = '\u001b[201~';

let inPaste = false;
let pasteEndedAt = 0;
let lastCtrlC = 0;
let deafUntil = 0;
let exiting = false;

/** Loses every Enter for the next `ms` (just after a `--resume`; see RESUME_DEAF_MS). */
export function deafenFor(ms: number): void {
  deafUntil = Date.now() + ms;
}

export async function exit(code: number): Promise<void> {
  if (exiting) return;
  exiting = true;
  out('\r\u001b[2K\u001b[?2004l\n');
  await fireHook('SessionEnd', { reason: 'prompt_input_exit' });
  fs.rmSync(registryFile, { force: true });
  process.exit(code);
}

function submit(): void {
  const text = screen.input;
  screen.input = '';
  screen.pasted = 0;
  if (!text.trim()) return drawPrompt();
  if (text.trim() === '/exit' || text.trim() === '/quit') {
    void exit(0);
    return;
  }
  if (screen.busy) {
    queue.push(text);
    printAbovePrompt(`  ⎿  queued: ${text.split('\n')[0]}`);
    return;
  }
  void turn(text);
}

export function onData(chunk: string): void {
  let s = chunk;
  while (s.length) {
    if (inPaste) {
      const end = s.indexOf(PASTE_END);
      screen.input += (end >= 0 ? s.slice(0, end) : s).replace(/\r\n?/g, '\n');
      if (end < 0) return;
      inPaste = false;
      pasteEndedAt = Date.now();
      s = s.slice(end + PASTE_END.length);
      if (!screen.busy) drawPrompt();
      continue;
    }
    if (s.startsWith(PASTE_START)) {
      inPaste = true;
      screen.pasted++;
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
      if (screen.input) screen.input = '';
      else if (Date.now() - lastCtrlC < 2000) {
        void exit(0);
        return;
      } else printAbovePrompt('Press Ctrl-C again to exit');
      lastCtrlC = Date.now();
      if (!screen.busy) drawPrompt();
    } else if (c === '\u0015') {
      screen.input = '';
      screen.pasted = 0;
      if (!screen.busy) drawPrompt();
    } else if (c === '\u007f' || c === '\b') {
      screen.input = screen.input.slice(0, -1);
      if (!screen.busy) drawPrompt();
    } else if (c === '\u001b') {
      // A lone Escape interrupts a running turn; other escape sequences are ignored.
      const seq = /^\[[0-9;?]*[A-Za-z~]/.exec(s);
      if (seq) s = s.slice(seq[0].length);
      else if (screen.busy) screen.interrupted = true;
    } else if (c >= ' ' || c === '\t') {
      screen.input += c;
      if (!screen.busy) drawPrompt();
    }
  }
}
