/** The TUI: the `❯` input line, lines printed above it, and the spinner of a running turn. */
import { setTimeout as sleep } from 'node:timers/promises';

const NBSP = '\u00a0';

export const out = (s: string) => process.stdout.write(s);

/** What the screen shows and whether a turn runs (set by the input and the turns). */
export const screen = { input: '', pasted: 0, busy: false, ready: false, interrupted: false };

export function drawPrompt(): void {
  const shown =
    screen.pasted > 0 && screen.input.includes('\n')
      ? `[Pasted text #${screen.pasted} +${screen.input.split('\n').length - 1} lines]`
      : screen.input;
  out(`\r\u001b[2K❯${NBSP}${shown}`);
}

export function printAbovePrompt(text: string): void {
  out(`\r\u001b[2K${text}\n`);
  if (!screen.busy && screen.ready) drawPrompt();
}

export async function spin(ms: number, label = 'Working'): Promise<boolean> {
  const glyphs = ['✻', '✶', '✳', '✢'];
  const start = Date.now();
  let i = 0;
  while (Date.now() - start < ms) {
    if (screen.interrupted) return false;
    const secs = Math.floor((Date.now() - start) / 1000);
    out(`\r\u001b[2K${glyphs[i++ % glyphs.length]} ${label}… (${secs}s · esc to interrupt)`);
    await sleep(Math.min(100, ms));
  }
  out('\r\u001b[2K');
  return true;
}
