/**
 * `janitor`: the slow housekeeping that keeps a pool healthy for months (README: Commands, `janitor`).
 *
 * - A stale dispatch marker (older than `janitor.staleDispatchedAfter`, its session dead or
 *   idle on something else, its task not done) is removed and the task goes back to the
 *   queue with its attempt count raised; past `dispatch.maxAttempts` it goes to `failed/`.
 *   A marker whose session is alive and still on it is left alone, however old.
 * - `done/` tasks older than `janitor.archiveDoneAfter` move to `archive/YYYY-MM/`.
 * - Checkpoints past `checkpoint.keep` or `checkpoint.maxAge` are pruned; `latest.json` is
 *   always kept.
 * - `events.jsonl` (and `cron.log`, `trigger.log`) rotate past `janitor.eventsMaxBytes`, keeping 3
 *   generations.
 * - The swap history is capped at `swap.historyMax`.
 * - Temp files of atomic writes left in `stateDir` by a killed writer, an hour old, go.
 *
 * Every action is one event; `--dry-run` lists the actions and does none of them. No task
 * file is ever deleted: tasks only move.
 */
import fs from 'node:fs';
import path from 'node:path';
import { listCheckpoints, checkpointDir, checkpointTimeOf } from '../agents/checkpoint.js';
import type { Context } from '../core/context.js';
import { appendEvent, eventsPath } from '../core/events.js';
import { queuePaths } from '../queue/files.js';
import { cronLogPath } from './cron.js';
import { readAgentStatus } from '../queue/status-file.js';
import { paneRunsAgent } from '../agents/screens.js';
import { listDir } from '../core/fs-atomic.js';
import { TRIGGER_LOG } from '../core/triggers.js';

export type JanitorActionKind =
  'requeue' | 'fail' | 'archive' | 'prune-checkpoint' | 'rotate-log' | 'cap-swaps' | 'remove-temp';

export interface JanitorAction {
  kind: JanitorActionKind;
  /** What it is about: a task id, a file, a session. */
  target: string;
  detail: string;
  project?: string;
  session?: string;
}

export interface JanitorResult {
  dryRun: boolean;
  actions: JanitorAction[];
  errors: string[];
}

/** How many rotated generations of a log are kept (`.1` newest … `.3` oldest). */
const LOG_GENERATIONS = 3;

/** Moves a file without ever overwriting: a taken name gets a numbered suffix. */
function moveNoClobber(from: string, toDir: string, name: string): string {
  fs.mkdirSync(toDir, { recursive: true });
  const ext = path.extname(name);
  const stem = name.slice(0, name.length - ext.length);
  for (let i = 0; ; i++) {
    const dest = path.join(toDir, i === 0 ? name : `${stem}.${i}${ext}`);
    try {
      // link + unlink: atomic, and fails instead of replacing an existing file.
      fs.linkSync(from, dest);
      fs.unlinkSync(from);
      return dest;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw err;
    }
  }
}

async function archiveDone(
  ctx: Context,
  now: Date,
  plan: JanitorAction[],
  run: Runner,
): Promise<void> {
  for (const p of ctx.config.projects) {
    const q = queuePaths(p.path);
    for (const name of listDir(q.done)) {
      if (name.startsWith('.')) continue;
      const file = path.join(q.done, name);
      let st: fs.Stats;
      try {
        st = fs.statSync(file);
      } catch {
        continue;
      }
      if (!st.isFile() || now.getTime() - st.mtimeMs < ctx.config.janitor.archiveDoneAfter)
        continue;
      const month = new Date(st.mtimeMs).toISOString().slice(0, 7);
      await run(
        plan,
        {
          kind: 'archive',
          target: name,
          project: p.name,
          detail: `done ${new Date(st.mtimeMs).toISOString()}; to archive/${month}/`,
        },
        () => moveNoClobber(file, path.join(q.archive, month), name),
      );
    }
  }
}

async function pruneCheckpoints(
  ctx: Context,
  now: Date,
  plan: JanitorAction[],
  run: Runner,
): Promise<void> {
  const root = path.join(ctx.config.stateDir, 'checkpoints');
  const { keep, maxAge } = ctx.config.checkpoint;
  for (const session of listDir(root)) {
    const files = listCheckpoints(ctx.config.stateDir, session); // oldest first, no latest.json
    for (const [i, file] of files.entries()) {
      const name = path.basename(file);
      const at = checkpointTimeOf(name);
      const tooMany = i < files.length - keep;
      const tooOld = at !== null && now.getTime() - at.getTime() > maxAge;
      if (!tooMany && !tooOld) continue;
      await run(
        plan,
        {
          kind: 'prune-checkpoint',
          target: path.join(checkpointDir(ctx.config.stateDir, session), name),
          session,
          detail: tooOld ? `older than checkpoint.maxAge` : `beyond checkpoint.keep (${keep})`,
        },
        () => fs.rmSync(file, { force: true }),
      );
    }
  }
}

/** Temp files of atomic writes (`.<name>.tmp-<pid>-<rand>`) left by a killed writer. */
const TEMP_RE = /^\..+\.tmp-\d+-[0-9a-f]+$/;
/** Only temp files this old are orphans: a live writer renames its own within moments. */
const ORPHAN_TEMP_AGE_MS = 3_600_000;

async function removeOrphanTemps(
  ctx: Context,
  now: Date,
  plan: JanitorAction[],
  run: Runner,
): Promise<void> {
  const dirs = [ctx.config.stateDir, path.join(ctx.config.stateDir, 'checkpoints')];
  for (const d of listDir(path.join(ctx.config.stateDir, 'checkpoints')))
    dirs.push(path.join(ctx.config.stateDir, 'checkpoints', d));
  for (const dir of dirs) {
    for (const name of listDir(dir)) {
      if (!TEMP_RE.test(name)) continue;
      const file = path.join(dir, name);
      let st: fs.Stats;
      try {
        st = fs.statSync(file);
      } catch {
        continue;
      }
      if (!st.isFile() || now.getTime() - st.mtimeMs < ORPHAN_TEMP_AGE_MS) continue;
      await run(
        plan,
        { kind: 'remove-temp', target: file, detail: 'left by a writer that was killed' },
        () => fs.rmSync(file, { force: true }),
      );
    }
  }
}

/** Rotates `file` past `maxBytes`: file -> .1 -> .2 -> .3; the oldest generation goes. */
function rotateLog(file: string): void {
  fs.rmSync(`${file}.${LOG_GENERATIONS}`, { force: true });
  for (let g = LOG_GENERATIONS - 1; g >= 1; g--) {
    if (fs.existsSync(`${file}.${g}`)) fs.renameSync(`${file}.${g}`, `${file}.${g + 1}`);
  }
  // A rename keeps every line: writers that append afterwards create a fresh file.
  fs.renameSync(file, `${file}.1`);
}

async function rotateLogs(ctx: Context, plan: JanitorAction[], run: Runner): Promise<void> {
  const logs = [
    eventsPath(ctx.config.stateDir),
    cronLogPath(ctx.config.stateDir),
    path.join(ctx.config.stateDir, TRIGGER_LOG),
  ];
  for (const file of logs) {
    let size = 0;
    try {
      size = fs.statSync(file).size;
    } catch {
      continue;
    }
    if (size <= ctx.config.janitor.eventsMaxBytes) continue;
    await run(
      plan,
      {
        kind: 'rotate-log',
        target: file,
        detail: `${size} bytes > janitor.eventsMaxBytes; keeps ${LOG_GENERATIONS} generations`,
      },
      () => rotateLog(file),
    );
  }
}

type Runner = (
  plan: JanitorAction[],
  action: JanitorAction,
  doIt: () => unknown,
  opts?: { logged?: boolean },
) => Promise<void>;

/**
 * Stale markers: past `staleDispatchedAfter`, the session dead or not working on the task,
 * the task still in the inbox. Put back in the queue (or, past maxAttempts, to failed/) by
 * the queue's own requeue, which logs the event with `by: janitor`.
 */
async function sweepStaleMarkers(ctx: Context, now: Date, plan: JanitorAction[], run: Runner) {
  const { liveMarkers } = await import('../agents/idle.js');
  const { requeueTask } = await import('../tasks/requeue.js');
  const { readScreen } = await import('../agents/screens.js');
  const panes = await ctx.tmux.sessions();
  for (const p of ctx.config.projects) {
    const status = readAgentStatus(p.path).sessions;
    for (const m of liveMarkers(p.path)) {
      const age = now.getTime() - Date.parse(m.dispatchedAt);
      if (!(age > ctx.config.janitor.staleDispatchedAfter)) continue;
      const pane = panes.get(m.session);
      const hook = status[m.session];
      if (paneRunsAgent(pane)) {
        // Alive and still on it: leave it alone, however old.
        if (hook?.state === 'working' && (hook.task === null || hook.task === m.taskId)) continue;
        if (!hook) {
          const lines = await ctx.tmux.capturePane(m.session, 20).catch(() => [] as string[]);
          if (readScreen(lines) === 'working') continue;
        }
      }
      const why = !paneRunsAgent(pane)
        ? `its session ${m.session} is dead`
        : hook?.state === 'working'
          ? `its session ${m.session} works on ${hook.task}`
          : `its session ${m.session} is idle`;
      const reason = `stale dispatch marker: dispatched ${Math.round(age / 60_000)} min ago and ${why}`;
      const action: JanitorAction = {
        kind: 'requeue',
        target: m.taskId,
        project: p.name,
        session: m.session,
        detail: reason,
      };
      await run(
        plan,
        action,
        async () => {
          const r = await requeueTask(ctx, m.taskId, {
            project: p.name,
            by: 'janitor',
            inboxOnly: true,
            reason,
          });
          if (r.action === 'failed') {
            action.kind = 'fail';
            action.detail = `${reason}; used up dispatch.maxAttempts (${r.maxAttempts})`;
          }
        },
        { logged: true },
      );
    }
  }
}

export async function runJanitor(
  ctx: Context,
  opts: { dryRun?: boolean } = {},
): Promise<JanitorResult> {
  const now = ctx.clock.now();
  const dryRun = Boolean(opts.dryRun);
  const plan: JanitorAction[] = [];
  const errors: string[] = [];
  const logged = new Set<JanitorAction>();
  const run: Runner = async (list, action, doIt, o = {}) => {
    if (!dryRun) {
      try {
        await doIt();
      } catch (err) {
        errors.push(`${action.kind} ${action.target}: ${(err as Error).message}`);
        return;
      }
    }
    if (o.logged) logged.add(action);
    list.push(action);
  };

  await sweepStaleMarkers(ctx, now, plan, run);
  await archiveDone(ctx, now, plan, run);
  await pruneCheckpoints(ctx, now, plan, run);
  await removeOrphanTemps(ctx, now, plan, run);

  // The swap history is capped (the state file stays small).
  const state = ctx.state.read();
  const over = state.swaps.length - ctx.config.swap.historyMax;
  if (over > 0) {
    const action: JanitorAction = {
      kind: 'cap-swaps',
      target: 'state.json swaps',
      detail: `dropped the ${over} oldest of ${state.swaps.length} (swap.historyMax ${ctx.config.swap.historyMax})`,
    };
    if (!dryRun)
      await ctx.state.update((st) => {
        st.swaps = st.swaps.slice(-ctx.config.swap.historyMax);
      });
    plan.push(action);
  }

  // Rotation last, so this run's events land in the fresh file.
  await rotateLogs(ctx, plan, run);
  if (!dryRun) {
    for (const a of plan) {
      if (!logged.has(a)) appendEvent(ctx.config.stateDir, `janitor.${a.kind}`, { ...a }, { now });
    }
    await ctx.state.update((st) => {
      st.lastRun.janitor = now.toISOString();
    });
  }
  for (const e of errors)
    appendEvent(ctx.config.stateDir, 'janitor.failed', { reason: e }, { level: 'error', now });
  return { dryRun, actions: plan, errors };
}
