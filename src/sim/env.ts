/** The simulated agent's settings: its environment, config dir and the `sim/` switch files. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const VERSION = '2.1.328-sim';
export const num = (v: string | undefined, d: number) =>
  v && Number.isFinite(Number(v)) ? Number(v) : d;

export const env = process.env;
export const configDir = env.CLAUDE_CONFIG_DIR || path.join(os.homedir(), '.claude');
export const cwd = process.cwd();
export const START_MS = num(env.SIM_START_MS, 300);
export const TURN_MS = num(env.SIM_TURN_MS, 400);
/** An Enter this soon after a paste ends is part of the paste burst: swallowed. */
export const PASTE_GUARD_MS = num(env.SIM_PASTE_GUARD_MS, 40);
/**
 * After a `--resume`, Enters are ignored for this long once the prompt is drawn: the race
 * seen with Claude Code 2.1.332, where a prompt pasted into a just-resumed session stayed in
 * the input box unsubmitted.
 */
export const RESUME_DEAF_MS = num(env.SIM_RESUME_DEAF_MS, 0);
/** The SessionStart hook runs this long after the prompt is drawn (0: before, as usual). */
export const SESSION_START_DELAY_MS = num(env.SIM_SESSION_START_DELAY_MS, 0);

const simFile = (name: string) => path.join(configDir, 'sim', name);
/** The text of the switch file `$CLAUDE_CONFIG_DIR/sim/<name>`, or null when it is absent. */
export const readSim = (name: string): string | null => {
  try {
    return fs.readFileSync(simFile(name), 'utf8');
  } catch {
    return null;
  }
};
