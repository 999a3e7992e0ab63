/**
 * Claude Code's own session registry: one small file per running process,
 * `<configDir>/sessions/<pid>.json`, with the conversation it holds and a status
 * (`busy|shell|idle|waiting` in 2.1.33x). Older versions do not write it, and its fields are
 * internal to Claude Code, so everything here is read loosely and "absent" is an answer.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface RegistryEntry {
  file: string;
  pid: number;
  sessionId: string | null;
  status: string | null;
  cwd: string | null;
  /** The process's start time as Claude Code recorded it (its pid-reuse guard). */
  procStart: string | null;
}

const str = (v: unknown) => (typeof v === 'string' && v ? v : null);

function parseEntry(file: string, fallbackPid: number | null): RegistryEntry | null {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
  if (!raw || typeof raw !== 'object') return null;
  const r = raw as Record<string, unknown>;
  const pid = typeof r.pid === 'number' ? r.pid : fallbackPid;
  if (pid === null) return null;
  return {
    file,
    pid,
    sessionId: str(r.sessionId) ?? str(r.session_id),
    status: str(r.status),
    cwd: str(r.cwd),
    procStart: str(r.procStart) ?? (typeof r.procStart === 'number' ? String(r.procStart) : null),
  };
}

/** The registry entry of the Claude Code process `pid`, or null (none, or not written). */
export function readRegistryEntry(configDir: string, pid: number): RegistryEntry | null {
  return parseEntry(path.join(configDir, 'sessions', `${pid}.json`), pid);
}

/**
 * Whether process `pid` runs: it answers signal 0, it is not a zombie (an agent killed in a
 * pane whose tmux server has not reaped it yet), and, when `procStart` is known (Claude
 * Code's pid-reuse guard: the start time in clock ticks, field 22 of /proc/<pid>/stat), it
 * is the same process. Without /proc only the signal answers.
 */
export function processAlive(pid: number, procStart?: string | null): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return true;
  }
  // The command name (field 2) is in parentheses and may hold spaces: split after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return false;
  return !procStart || fields[19] === procStart;
}

/**
 * The live processes, under any of `configDirs`, that hold conversation `sessionId` open:
 * what makes `claude --resume` start a copy instead of continuing it.
 */
export function registryHolders(configDirs: readonly string[], sessionId: string): RegistryEntry[] {
  const out: RegistryEntry[] = [];
  for (const dir of new Set(configDirs)) {
    let names: string[];
    try {
      names = fs.readdirSync(path.join(dir, 'sessions'));
    } catch {
      continue;
    }
    for (const name of names) {
      const m = /^(\d+)\.json$/.exec(name);
      if (!m) continue;
      const e = parseEntry(path.join(dir, 'sessions', name), Number(m[1]));
      if (e?.sessionId === sessionId && processAlive(e.pid, e.procStart)) out.push(e);
    }
  }
  return out;
}
