/** The conversations a swap resumes, made reachable from the target account. */
import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../core/context.js';
import { appendEvent } from '../core/events.js';
import { encodeProjectDir, reachableTranscript, SESSION_ID_RE } from '../claude/transcript-path.js';

/**
 * Makes a conversation reachable from `configDir`: when `projects/` there does not lead to
 * it (a link is missing or points elsewhere), the transcript is found under the shared tree
 * or another account and copied in. Returns false when it is gone everywhere.
 */
export function ensureTranscriptReachable(
  ctx: Context,
  configDir: string,
  cwd: string,
  id: string,
): boolean {
  if (!SESSION_ID_RE.test(id)) return false;
  if (reachableTranscript(configDir, cwd, id)) return true;
  const roots = [
    ctx.config.sharedProjectsDir,
    ...ctx.config.accounts.map((a) => path.join(a.configDir, 'projects')),
  ];
  for (const root of roots) {
    let dirs: string[] = [];
    try {
      dirs = fs.readdirSync(root);
    } catch {
      continue;
    }
    for (const d of dirs) {
      const file = path.join(root, d, `${id}.jsonl`);
      if (!fs.existsSync(file)) continue;
      const dest = path.join(configDir, 'projects', encodeProjectDir(cwd), `${id}.jsonl`);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      // Copy, never move: the original stays where it was.
      fs.copyFileSync(file, dest, fs.constants.COPYFILE_EXCL);
      appendEvent(
        ctx.config.stateDir,
        'swap.transcript-copied',
        { claudeSessionId: id, from: file, to: dest },
        { level: 'warn', now: ctx.clock.now() },
      );
      return true;
    }
  }
  return false;
}
