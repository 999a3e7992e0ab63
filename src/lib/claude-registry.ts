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
  };
}

/** The registry entry of the Claude Code process `pid`, or null (none, or not written). */
export function readRegistryEntry(configDir: string, pid: number): RegistryEntry | null {
  return parseEntry(path.join(configDir, 'sessions', `${pid}.json`), pid);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
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
      if (e?.sessionId === sessionId && alive(e.pid)) out.push(e);
    }
  }
  return out;
}
