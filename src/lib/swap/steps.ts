/**
 * The first four steps of a swap, one function per journal step: checkpoint, stop, relink,
 * relaunch. Each does its work, records the next step in the journal, and is safe to run
 * again after a kill (see journal.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import fs from 'node:fs';
import { stopAgents } from '../agents/agent.js';
import { readLatestCheckpoint, taskInFlight, writeCheckpoints } from '../agents/checkpoint.js';
import { paneRunsAgent } from '../agents/screens.js';
import { launchSession, resumeIdFor } from '../agents/sessions.js';
import { ensureSymlink, linkProjects } from '../accounts/links.js';
import { accountByName } from '../core/config.js';
import type { Context } from '../core/context.js';
import { notifyEvent } from '../notify/index.js';
import {
  afterCheckpoint,
  afterRelaunch,
  afterRelink,
  afterStop,
  relaunchResumeId,
  type NextStep,
  type SessionFacts,
} from './journal.js';
import { configOf, updateJournal, type SwapRun } from './swap-run.js';
import { ensureTranscriptReachable } from './transcripts.js';

/** Records each session's conversation, cwd and task in flight, before anything stops. */
export async function checkpointStep(ctx: Context, run: SwapRun, step: NextStep): Promise<void> {
  run.progress('checkpointing');
  const written = await writeCheckpoints(ctx, step.sessions, { recordRun: false }).catch(
    () => null,
  );
  const state = ctx.state.read();
  const panes = await ctx.tmux.sessions();
  const facts = new Map<string, SessionFacts>();
  for (const name of step.sessions) {
    const s = configOf(ctx, name);
    if (!s) continue;
    const checkpoint = written?.results.find((r) => r.session === name)?.written
      ? readLatestCheckpoint(ctx.config.stateDir, name)
      : null;
    const pane = panes.get(name);
    facts.set(name, {
      claudeSessionId: checkpoint?.claudeSessionId ?? resumeIdFor(ctx, s, state),
      cwd: (paneRunsAgent(pane) && pane!.currentPath) || s.projectPath,
      task: taskInFlight(ctx.config.stateDir, s),
    });
  }
  await updateJournal(ctx, run, (journal) => afterCheckpoint(journal, facts));
}

/** Stops the sessions in parallel, gracefully first. */
export async function stopStep(ctx: Context, run: SwapRun, step: NextStep): Promise<void> {
  run.progress(`stopping ${step.sessions.length} sessions on ${run.journal.from}`);
  await stopAgents(ctx.tmux, step.sessions, ctx.config.agent.stopTimeout);
  await updateJournal(ctx, run, afterStop);
}

/** Points `projects/` and the active link at the target, which becomes the active account. */
export async function relinkStep(ctx: Context, run: SwapRun, step: NextStep): Promise<void> {
  run.progress(`switching to ${step.target}`);
  const dir = accountByName(ctx.config, step.target).configDir;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  linkProjects(dir, ctx.config.sharedProjectsDir, ctx.clock.now());
  if (ctx.config.activeLink) ensureSymlink(ctx.config.activeLink, dir);
  await updateJournal(ctx, run, (journal, st) => {
    st.activeAccount = journal.to;
    return afterRelink(journal);
  });
}

/**
 * Makes every transcript reachable from the target, then relaunches each session there with
 * `--resume <same id>`, `swap.launchStagger` apart. A session an interrupted run already
 * relaunched on the target is left running.
 */
export async function relaunchStep(ctx: Context, run: SwapRun, step: NextStep): Promise<void> {
  run.progress(`relaunching on ${step.target}`);
  const dir = accountByName(ctx.config, step.target).configDir;
  const resumeIds = new Map<string, string | null>();
  const launchedAt = new Map<string, number>();
  // The panes before any launch: only our own launches change them during the loop.
  const panes = await ctx.tmux.sessions();
  const toLaunch: string[] = [];
  for (const name of step.sessions) {
    const js = run.journal.sessions.find((x) => x.name === name)!;
    if (
      paneRunsAgent(panes.get(name)) &&
      (await ctx.tmux.sessionEnv(name, 'CLAUDE_FAILOVER_ACCOUNT')) === step.target
    ) {
      resumeIds.set(name, relaunchResumeId(js));
      launchedAt.set(name, 0);
    } else toLaunch.push(name);
  }
  // What is left of them (the stop step kills their sessions; a run that stopped before
  // may not have), in one tmux call rather than one each.
  await ctx.tmux.runEach(
    toLaunch.filter((name) => panes.has(name)),
    (name) => ['kill-session', '-t', `=${name}`],
  );
  let lastLaunch = 0;
  for (const name of toLaunch) {
    const s = configOf(ctx, name)!;
    const js = run.journal.sessions.find((x) => x.name === name)!;
    let resumeId = js.claudeSessionId;
    if (resumeId && !ensureTranscriptReachable(ctx, dir, js.cwd ?? s.projectPath, resumeId)) {
      await notifyEvent(
        ctx,
        'session.resume-missing',
        {
          session: name,
          claudeSessionId: resumeId,
          account: step.target,
          detail: 'the transcript is gone: the session starts fresh and gets its task again',
        },
        'warn',
      );
      resumeId = null;
    }
    // Launches start launchStagger apart; the time a launch itself takes counts.
    if (lastLaunch)
      await sleep(Math.max(0, lastLaunch + ctx.config.swap.launchStagger - Date.now()));
    lastLaunch = Date.now();
    await launchSession(ctx, s, step.target, resumeId, run.inheritedEnv, { killed: true });
    resumeIds.set(name, resumeId);
    launchedAt.set(name, lastLaunch);
  }
  await updateJournal(ctx, run, (journal) => afterRelaunch(journal, resumeIds));
  run.launchedAt = launchedAt;
}
