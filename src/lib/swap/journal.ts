/**
 * The swap journal (`swapJournal` in state.json) and the rule that carries it forward.
 *
 * The journal records the last step a swap completed. Whoever finds it (the same run, or
 * the next `swap` or `quota check` after a kill) asks `nextStep` what to do, does it, and
 * records the result with one of the `after…` functions. Each step is safe to run again:
 * the only actions that must not repeat (a launch, a prompt) are skipped for the sessions
 * the journal, or tmux, shows done. Everything here takes data and returns data.
 */
import type { Config } from '../core/config.js';
import type { SwapJournal } from '../core/state-schema.js';

export type JournalSession = SwapJournal['sessions'][number];

/** One action per journal step: what a run does with a journal left at that step. */
export type SwapAction =
  'checkpoint' | 'stop' | 'relink' | 'relaunch' | 'settle' | 'prompt' | 'finish';

export interface NextStep {
  action: SwapAction;
  /** The account the sessions go to. */
  target: string;
  /** The sessions the action applies to, in journal order. */
  sessions: string[];
}

const ACTION_AFTER: Record<SwapJournal['step'], SwapAction> = {
  planned: 'checkpoint',
  checkpointed: 'stop',
  stopped: 'relink',
  relinked: 'relaunch',
  relaunched: 'settle',
  ready: 'prompt',
  prompted: 'finish',
  done: 'finish',
};

/**
 * The recovery rule: the action that follows the journal's last step, its target, and the
 * sessions it touches. Sessions no longer in the config are checkpointed and stopped but
 * never launched; a session already prompted is not prompted again.
 */
export function nextStep(journal: SwapJournal, config: Pick<Config, 'sessions'>): NextStep {
  const action = ACTION_AFTER[journal.step];
  const configured = (js: JournalSession) => config.sessions.some((s) => s.name === js.name);
  let sessions: JournalSession[];
  switch (action) {
    case 'relink':
      sessions = [];
      break;
    case 'relaunch':
    case 'settle':
      sessions = journal.sessions.filter(configured);
      break;
    case 'prompt':
      sessions = journal.sessions.filter((js) => configured(js) && js.task && !js.prompted);
      break;
    default:
      sessions = journal.sessions;
  }
  return { action, target: journal.to, sessions: sessions.map((js) => js.name) };
}

/**
 * Whether the journal takes the sessions back to their source: every target failed to log
 * in. Read from the journal, so a run that carries a killed rollback forward still ends it
 * as a rollback.
 */
export function goingBack(journal: SwapJournal): boolean {
  return journal.tried.length > 0 && journal.to === journal.from;
}

/** The id a relaunched session resumes: none when it was started fresh. */
export function relaunchResumeId(js: JournalSession): string | null {
  return js.fresh ? null : js.claudeSessionId;
}

/** What a checkpoint found for a session before anything was stopped. */
export type SessionFacts = Pick<JournalSession, 'claudeSessionId' | 'cwd' | 'task'>;

function withSessions(
  journal: SwapJournal,
  step: SwapJournal['step'],
  change: (js: JournalSession) => Partial<JournalSession>,
): SwapJournal {
  return { ...journal, step, sessions: journal.sessions.map((js) => ({ ...js, ...change(js) })) };
}

/** The journal after the checkpoint: each session's conversation, cwd and task. */
export function afterCheckpoint(
  journal: SwapJournal,
  facts: ReadonlyMap<string, SessionFacts>,
): SwapJournal {
  return withSessions(journal, 'checkpointed', (js) => facts.get(js.name) ?? {});
}

/** The journal after every session was stopped. */
export function afterStop(journal: SwapJournal): SwapJournal {
  return withSessions(journal, 'stopped', () => ({ stopped: true }));
}

/** The journal after `projects/` and the active link lead to the target. */
export function afterRelink(journal: SwapJournal): SwapJournal {
  return { ...journal, step: 'relinked' };
}

/**
 * The journal after the relaunch. `launched` maps each session now running on the target to
 * the id it was launched with (null: fresh); one whose id was given up on is marked fresh.
 */
export function afterRelaunch(
  journal: SwapJournal,
  launched: ReadonlyMap<string, string | null>,
): SwapJournal {
  return withSessions(journal, 'relaunched', (js) => {
    if (!launched.has(js.name)) return {};
    return {
      relaunched: true,
      fresh: launched.get(js.name) === null && js.claudeSessionId !== null,
    };
  });
}

/** How an agent came up after the relaunch. */
export interface SettledAgent {
  screen: string;
  fresh: boolean;
}

/** The journal once the agents settled: which are ready, which Claude Code started fresh. */
export function afterSettle(
  journal: SwapJournal,
  settled: ReadonlyMap<string, SettledAgent>,
): SwapJournal {
  return withSessions(journal, 'ready', (js) => {
    const agent = settled.get(js.name);
    return { ready: agent?.screen === 'ready', ...(agent?.fresh ? { fresh: true } : {}) };
  });
}

/** The journal after the task prompts: `prompted` holds the sessions that took theirs. */
export function afterPrompt(journal: SwapJournal, prompted: ReadonlySet<string>): SwapJournal {
  return withSessions(journal, 'prompted', (js) =>
    prompted.has(js.name) ? { prompted: true } : {},
  );
}

/**
 * The journal after the target failed to log in: it joins `tried`, the sessions go to `to`
 * (the next target, or the source when none is left) from the relink on.
 */
export function afterTargetFailed(journal: SwapJournal, to: string): SwapJournal {
  return {
    ...withSessions(journal, 'stopped', () => ({
      relaunched: false,
      ready: false,
      prompted: false,
    })),
    tried: [...journal.tried, journal.to],
    to,
  };
}
