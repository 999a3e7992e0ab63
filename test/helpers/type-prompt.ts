/**
 * Types a prompt into a pane for a test: paste, pause, Enter, and retry the Enter while the
 * text still shows in the input box. Tests use it to steer agents (`/sim print ...` writes no
 * hook and no transcript, so the product's confirmed delivery, `typePrompt` in
 * src/lib/agents/agent.ts, cannot be used for it). Returns false when the text never left the box.
 */
import { inputBoxText } from '../../src/lib/agents/screens.js';
import type { Tmux } from '../../src/lib/core/tmux.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
