/**
 * Where Claude Code keeps a conversation: `<projects>/<encoded cwd>/<session-id>.jsonl`.
 * The directory name is the resolved cwd with every non-alphanumeric character replaced by
 * `-`, one for one (runs are not collapsed); names past 200 characters are cut and get a
 * hash of the full path (as Claude Code 2.1 does). The encoding is lossy: never decode it.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const MAX_DIR_NAME = 200;

/** The `projects/` subdirectory name Claude Code uses for `cwd`. */
export function encodeProjectDir(cwd: string): string {
  const name = path.resolve(cwd).replace(/[^a-zA-Z0-9]/g, '-');
  if (name.length <= MAX_DIR_NAME) return name;
  const hash = createHash('sha256').update(path.resolve(cwd)).digest('hex').slice(0, 8);
  return `${name.slice(0, MAX_DIR_NAME)}-${hash}`;
}

/** The transcript file of `sessionId` for `cwd` under a `projects/` tree. */
function transcriptFile(projectsDir: string, cwd: string, sessionId: string): string {
  return path.join(projectsDir, encodeProjectDir(cwd), `${sessionId}.jsonl`);
}

/** A Claude session id is a UUID; anything else never reaches a file name or an argv. */
export const SESSION_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The cwd forms Claude Code may have used for a project: as given and fully resolved. */
function cwdForms(cwd: string): string[] {
  const forms = [path.resolve(cwd)];
  try {
    const real = fs.realpathSync(cwd);
    if (!forms.includes(real)) forms.push(real);
  } catch {
    // not there (yet): the given form is all we have
  }
  return forms;
}

/**
 * Where `claude --resume <id>` run in `cwd` with `CLAUDE_CONFIG_DIR=configDir` will look for
 * the conversation, if it is there; null when it would answer "No conversation found".
 */
export function reachableTranscript(configDir: string, cwd: string, id: string): string | null {
  if (!SESSION_ID_RE.test(id)) return null;
  for (const form of cwdForms(cwd)) {
    const file = transcriptFile(path.join(configDir, 'projects'), form, id);
    if (fs.existsSync(file)) return file;
  }
  return null;
}
