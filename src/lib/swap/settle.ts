/**
 * The last steps of a swap, one function per journal step: wait for the relaunched agents
 * to be ready (settle), then re-prompt the tasks in flight (prompt). A target whose agents
 * do not log in, seen at either step, sends the sessions on (see fall-back.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isAccountUnusableError } from '../accounts/condition.js';
import { readScreen } from '../agents/screens.js';
import { settleLaunch, type SettleResult } from '../agents/sessions.js';
import { readSignals } from '../claude/signals.js';
import type { Context } from '../core/context.js';
import type { SwapJournal } from '../core/state-schema.js';
import { owePrompt, sendTaskPrompt, type TaskPromptJob } from '../dispatch/delivery.js';
import { fallBack } from './fall-back.js';
import { afterPrompt, afterSettle, goingBack, relaunchResumeId, type NextStep } from './journal.js';
import { configOf, updateJournal, type SwapRun } from './swap-run.js';

/** How long prompted agents are given to fail their first request with bad credentials. */
const AUTH_PROBE_MS = 3000;

/**
 * Waits for each relaunched agent to be ready, in parallel. Agents that did not log in send
 * the sessions to the next target, unless they are already on their way back to the source.
 */
export async function settleStep(ctx: Context, run: SwapRun, step: NextStep): Promise<void> {
  const launchedAt = run.launchedAt;
  if (launchedAt) run.progress(`waiting for ${launchedAt.size} agents`);
  const results = await Promise.all(
    step.sessions.map((name) => {
      const js = run.journal.sessions.find((x) => x.name === name)!;
      // Launched by an earlier, killed run: look again from the start.
      const since = launchedAt ? launchedAt.get(name) || Date.now() - 60_000 : 0;
      return settleLaunch(
        ctx,
        configOf(ctx, name)!,
        step.target,
        relaunchResumeId(js),
        run.inheritedEnv,
        since,
      );
    }),
  );
  run.settled = new Map(results.map((r) => [r.session, r]));
  const failed = authFailures(ctx, run.journal, run.settled);
  if (failed.length && !goingBack(run.journal)) return fallBack(ctx, run, failed);
  await updateJournal(ctx, run, (journal) => afterSettle(journal, run.settled));
}

/**
 * Tells the sessions that had a task in flight to carry on: a ready agent gets the prompt
 * typed, one that is not ready has it owed (the next dispatch delivers it once the session
 * is idle). Then the prompted agents are given a moment to fail their first request with
 * bad credentials before the swap is called done.
 */
export async function promptStep(ctx: Context, run: SwapRun, step: NextStep): Promise<void> {
  run.progress('resuming tasks');
  const promptedAt = new Date(Date.now() - 1000).toISOString();
  const prompted = new Set<string>();
  await Promise.all(
    step.sessions.map(async (name) => {
      const js = run.journal.sessions.find((x) => x.name === name)!;
      const job: TaskPromptJob = {
        session: configOf(ctx, name)!,
        account: step.target,
        task: js.task!,
        prompt: js.fresh ? 'dispatch' : 'resume',
        template: js.fresh ? ctx.config.dispatch.prompt : ctx.config.swap.resumePrompt,
        by: 'swap',
      };
      // An unconfirmed prompt is owed the same way (see delivery.ts).
      if (!js.ready) await owePrompt(ctx, job, 'the agent was not ready after the swap');
      else if ((await sendTaskPrompt(ctx, job)).ok) prompted.add(name);
    }),
  );
  await updateJournal(ctx, run, (journal) => afterPrompt(journal, prompted));
  // Bad credentials only show on the first request.
  if (prompted.size && !goingBack(run.journal)) {
    const failed = await waitForAuthFailure(ctx, [...prompted], step.target, promptedAt);
    if (failed.length) await fallBack(ctx, run, failed);
  }
}

async function waitForAuthFailure(
  ctx: Context,
  sessions: string[],
  account: string,
  since: string,
): Promise<string[]> {
  const until = Date.now() + AUTH_PROBE_MS;
  for (;;) {
    const failed: string[] = [];
    let settledAll = true;
    for (const name of sessions) {
      const sigs = readSignals(ctx.config.stateDir, name, since).filter(
        (sig) => sig.account === account,
      );
      if (sigs.some((sig) => isAccountUnusableError(sig.error))) failed.push(name);
      // Without hooks, the pane says it: "Not logged in · Please run /login".
      else if (
        readScreen(await ctx.tmux.capturePane(name, 40).catch(() => [] as string[])) === 'login'
      )
        failed.push(name);
      // A Stop or a non-auth StopFailure means the first request got an answer.
      else if (!sigs.some((sig) => sig.event === 'Stop' || sig.event === 'StopFailure'))
        settledAll = false;
    }
    if (failed.length || settledAll || Date.now() > until) return failed;
    await sleep(200);
  }
}

/** Sessions whose agent did not log in: a login screen, or `authentication_failed`. */
function authFailures(
  ctx: Context,
  journal: SwapJournal,
  settled: ReadonlyMap<string, SettleResult>,
): string[] {
  const since = new Date(Date.parse(journal.startedAt) - 1000).toISOString();
  return journal.sessions
    .filter((js) => {
      if (settled.get(js.name)?.screen === 'login') return true;
      return readSignals(ctx.config.stateDir, js.name, since).some(
        (sig) => sig.account === journal.to && isAccountUnusableError(sig.error),
      );
    })
    .map((js) => js.name);
}
