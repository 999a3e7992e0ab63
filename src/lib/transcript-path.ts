/**
 * Where Claude Code keeps a conversation: `<projects>/<encoded cwd>/<session-id>.jsonl`.
 * The directory name is the resolved cwd with every non-alphanumeric character replaced by
 * `-`, one for one (runs are not collapsed); names past 200 characters are cut and get a
 * hash of the full path (CLAUDE-CODE-FACTS 2.1). The encoding is lossy: never decode it.
 */
import { createHash } from 'node:crypto';
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
export function transcriptFile(projectsDir: string, cwd: string, sessionId: string): string {
  return path.join(projectsDir, encodeProjectDir(cwd), `${sessionId}.jsonl`);
}

/** A Claude session id is a UUID; anything else never reaches a file name or an argv. */
export const SESSION_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
