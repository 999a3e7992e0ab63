/**
 * Which transcript belongs to a session. Claude Code names a conversation by a UUID that we
 * learn from the hooks (SessionStart's `session_id` and `transcript_path`); without hooks we
 * have to infer it from the files, which is delicate because several pool sessions usually
 * run in the same project directory and so write into the same `projects/<cwd>/` folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readAgentStatus, type AgentStatusEntry } from '../queue/status-file.js';
import type { SessionConfig } from '../core/config.js';
import type { Context } from '../core/context.js';
import { readSignals } from './signals.js';
import type { State } from '../core/state-schema.js';
import { encodeProjectDir, SESSION_ID_RE } from './transcript-path.js';

/** Where a session's transcript was learnt from, most trusted first. */
export type TranscriptSource = 'hooks' | 'signals' | 'state' | 'newest-for-cwd';

export interface TranscriptLocation {
  claudeSessionId: string | null;
  /** Null when no file is known (a new conversation writes its file on the first message). */
  transcriptPath: string | null;
  source: TranscriptSource | null;
}

/** What one source says about a session's conversation. */
export interface TranscriptClaim {
  source: Exclude<TranscriptSource, 'newest-for-cwd'>;
  claudeSessionId: string | null;
  transcriptPath: string | null;
}

export interface FindTranscriptOptions {
  /** This session's own claims, most trusted first. */
  claims: readonly TranscriptClaim[];
  /** Claude session ids that other sessions claim: never this session's transcript. */
  claimedByOthers: ReadonlySet<string>;
  /** Directories the agent may run in: the pane's cwd, then the project path. */
  cwds: readonly string[];
  /** `projects/` trees to look in: the shared tree, then the account's own. */
  projectsDirs: readonly string[];
  /** When this session's agent was launched, when known. */
  launchedAt?: Date | null;
}

/** How much older than the launch a transcript may look (clock and mtime granularity). */
const LAUNCH_SLACK_MS = 5_000;

const exists = (file: string) => {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
};

const realpathOr = (p: string) => {
  try {
    return fs.realpathSync(p);
  } catch {
    return null;
  }
};

/** The existing `projects/<encoded cwd>/` directories to look in, each once. */
export function candidateDirs(projectsDirs: readonly string[], cwds: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const root of projectsDirs) {
    for (const cwd of cwds) {
      if (!cwd) continue;
      const real = realpathOr(path.join(root, encodeProjectDir(cwd)));
      if (real && !seen.has(real)) {
        seen.add(real);
        out.push(real);
      }
    }
  }
  return out;
}

const validId = (id: string | null | undefined): id is string => !!id && SESSION_ID_RE.test(id);
const validPath = (p: string | null | undefined): p is string =>
  !!p && path.isAbsolute(p) && p.endsWith('.jsonl');

/**
 * Finds a session's transcript.
 *
 * 1. The first claim that names a Claude session id decides (hooks, then signals, then the
 *    state file). Its path is the reported one when that file exists, else the file of that
 *    id under one of the candidate directories, else the reported path (the agent has not
 *    written its first line yet), else null. A known id is never second-guessed by a file
 *    scan: after `/clear` the hooks report a new id before its file exists, and an older
 *    file must not be taken for it.
 * 2. Without any claim, the newest `<uuid>.jsonl` (by mtime) in the candidate directories
 *    that this session could have written: not one whose id another session claims (hooks
 *    or state), and, when the launch time is known, not one last written before this agent
 *    was launched (it belongs to an earlier agent; a fresh agent that has not written yet
 *    has no transcript). Pool sessions sharing a cwd without hooks can still be ambiguous;
 *    installing the hooks (`setup`) removes the guesswork.
 */
export function findTranscript(opts: FindTranscriptOptions): TranscriptLocation {
  const dirs = candidateDirs(opts.projectsDirs, opts.cwds);
  for (const claim of opts.claims) {
    const id = validId(claim.claudeSessionId) ? claim.claudeSessionId : null;
    const reported = validPath(claim.transcriptPath) ? claim.transcriptPath : null;
    if (!id) {
      // A path alone (no id) is still a claim when its file exists and is named by a UUID.
      const base = reported ? path.basename(reported, '.jsonl') : null;
      if (reported && validId(base) && exists(reported))
        return { claudeSessionId: base, transcriptPath: reported, source: claim.source };
      continue;
    }
    if (reported && exists(reported))
      return { claudeSessionId: id, transcriptPath: reported, source: claim.source };
    const found = dirs.map((d) => path.join(d, `${id}.jsonl`)).find(exists);
    return {
      claudeSessionId: id,
      transcriptPath: found ?? reported,
      source: claim.source,
    };
  }

  const notBefore = opts.launchedAt ? opts.launchedAt.getTime() - LAUNCH_SLACK_MS : null;
  let best: { id: string; file: string; mtime: number } | null = null;
  for (const dir of dirs) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!name.endsWith('.jsonl')) continue;
      const id = name.slice(0, -'.jsonl'.length);
      if (!validId(id) || opts.claimedByOthers.has(id)) continue;
      const file = path.join(dir, name);
      let mtime: number;
      try {
        const st = fs.statSync(file);
        if (!st.isFile()) continue;
        mtime = st.mtimeMs;
      } catch {
        continue;
      }
      if (notBefore !== null && mtime < notBefore) continue;
      if (!best || mtime > best.mtime) best = { id, file, mtime };
    }
  }
  return best
    ? { claudeSessionId: best.id, transcriptPath: best.file, source: 'newest-for-cwd' }
    : { claudeSessionId: null, transcriptPath: null, source: null };
}

/** The extra `transcriptPath` the hooks keep in a status.json entry. */
function hookPath(entry: AgentStatusEntry | undefined): string | null {
  const p = (entry as { transcriptPath?: unknown } | undefined)?.transcriptPath;
  return typeof p === 'string' ? p : null;
}

/**
 * Finds the transcript of a configured session from everything we know: its hooks
 * (status.json, then its signal file), the state file, and else the newest-for-cwd rule
 * with the claims of every other configured session excluded. `cwd` is the pane's
 * `pane_current_path` when the session runs; `account` picks the account's own
 * `<configDir>/projects`, in case it is not linked to the shared tree.
 */
export function locateSessionTranscript(
  ctx: Pick<Context, 'config'>,
  session: SessionConfig,
  opts: { state: State; cwd: string | null; account: string | null },
): TranscriptLocation {
  const { config } = ctx;
  const { state } = opts;
  const statusByProject = new Map<string, ReturnType<typeof readAgentStatus>>();
  const statusOf = (projectPath: string) => {
    let s = statusByProject.get(projectPath);
    if (!s) {
      s = readAgentStatus(projectPath);
      statusByProject.set(projectPath, s);
    }
    return s;
  };

  const claims: TranscriptClaim[] = [];
  const hook = statusOf(session.projectPath).sessions[session.name];
  if (hook)
    claims.push({
      source: 'hooks',
      claudeSessionId: hook.claudeSessionId,
      transcriptPath: hookPath(hook),
    });
  const signal = readSignals(config.stateDir, session.name, null)
    .reverse()
    .find((s) => s.claudeSessionId || s.transcriptPath);
  if (signal)
    claims.push({
      source: 'signals',
      claudeSessionId: signal.claudeSessionId ?? null,
      transcriptPath: signal.transcriptPath ?? null,
    });
  const st = state.sessions[session.name];
  if (st)
    claims.push({
      source: 'state',
      claudeSessionId: st.claudeSessionId,
      transcriptPath: st.transcriptPath,
    });

  const others = new Set<string>();
  const claim = (id: string | null | undefined, p?: string | null) => {
    if (id) others.add(id);
    if (p) others.add(path.basename(p, '.jsonl'));
  };
  for (const s of config.sessions) {
    if (s.name === session.name) continue;
    const h = statusOf(s.projectPath).sessions[s.name];
    claim(h?.claudeSessionId, hookPath(h));
    claim(state.sessions[s.name]?.claudeSessionId, state.sessions[s.name]?.transcriptPath);
  }

  const projectsDirs = [config.sharedProjectsDir];
  const account = config.accounts.find((a) => a.name === opts.account);
  if (account) projectsDirs.push(path.join(account.configDir, 'projects'));
  const cwds = [opts.cwd, session.projectPath, realpathOr(session.projectPath)].filter(
    (c): c is string => !!c,
  );
  return findTranscript({
    claims,
    claimedByOthers: others,
    cwds,
    projectsDirs,
    launchedAt: st?.launchedAt ? new Date(st.launchedAt) : null,
  });
}
