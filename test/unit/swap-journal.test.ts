/** The swap journal's recovery rule and its step records: pure, at a fixed clock. */
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/lib/core/config.js';
import {
  SWAP_STEPS,
  swapJournalSchema,
  type SwapJournal,
} from '../../src/lib/core/state-schema.js';
import {
  afterCheckpoint,
  afterPrompt,
  afterRelaunch,
  afterRelink,
  afterSettle,
  afterStop,
  afterTargetFailed,
  nextStep,
  relaunchResumeId,
  type SessionFacts,
  type SwapAction,
} from '../../src/lib/swap/journal.js';
import { plannedJournal, poolConfig } from './swap-fixtures.js';

const ID = (n: number) => `0000000${n}-0000-4000-8000-000000000000`;
const TASK = { id: 'T-1', path: '/q/in-progress/T-1.md' };

const FACTS = new Map<string, SessionFacts>([
  ['ccl-0', { claudeSessionId: ID(0), cwd: '/src/api', task: TASK }],
  ['ccl-1', { claudeSessionId: ID(1), cwd: '/src/api', task: null }],
  ['ccl-2', { claudeSessionId: null, cwd: '/src/api', task: null }],
]);

/** What each action records when it succeeds, as the step functions do. */
const RECORD: Record<Exclude<SwapAction, 'finish'>, (j: SwapJournal) => SwapJournal> = {
  checkpoint: (j) => afterCheckpoint(j, FACTS),
  stop: afterStop,
  relink: afterRelink,
  relaunch: (j) => afterRelaunch(j, new Map(j.sessions.map((s) => [s.name, s.claudeSessionId]))),
  settle: (j) =>
    afterSettle(j, new Map(j.sessions.map((s) => [s.name, { screen: 'ready', fresh: false }]))),
  prompt: (j) => afterPrompt(j, new Set(['ccl-0'])),
};

/** The journal as the next run reads it from state.json after a SIGKILL. */
const leftBehind = (j: SwapJournal) => swapJournalSchema.parse(JSON.parse(JSON.stringify(j)));

/** The journal of a swap that ran until it recorded `step`. */
function journalAt(config: Config, step: SwapJournal['step']): SwapJournal {
  let j = plannedJournal(config);
  // A rule that loops must fail the test, not hang it.
  for (let i = 0; i < SWAP_STEPS.length && j.step !== step; i++) {
    const { action } = nextStep(j, config);
    if (action === 'finish') break;
    j = RECORD[action](j);
  }
  if (j.step !== step) throw new Error(`the swap never recorded ${step}`);
  return j;
}

describe('nextStep (the recovery rule)', () => {
  it('runs each action once, in order, each recording the next step', async () => {
    const config = await poolConfig();
    let j = plannedJournal(config);
    const actions: SwapAction[] = [];
    while (actions.length <= SWAP_STEPS.length) {
      const { action } = nextStep(j, config);
      actions.push(action);
      if (action === 'finish') break;
      const next = RECORD[action](j);
      expect(SWAP_STEPS.indexOf(next.step as (typeof SWAP_STEPS)[number])).toBe(
        SWAP_STEPS.indexOf(j.step as (typeof SWAP_STEPS)[number]) + 1,
      );
      j = next;
    }
    expect(actions).toEqual([
      'checkpoint',
      'stop',
      'relink',
      'relaunch',
      'settle',
      'prompt',
      'finish',
    ]);
  });

  const AFTER: Array<[SwapJournal['step'], SwapAction]> = [
    ['planned', 'checkpoint'],
    ['checkpointed', 'stop'],
    ['stopped', 'relink'],
    ['relinked', 'relaunch'],
    ['relaunched', 'settle'],
    ['ready', 'prompt'],
    ['prompted', 'finish'],
  ];
  it.each(AFTER)(
    'a swap killed after %s goes on with %s, on the same target',
    async (step, action) => {
      const config = await poolConfig();
      const j = leftBehind(journalAt(config, step));
      expect(nextStep(j, config)).toMatchObject({ action, target: 'backup' });
    },
  );

  it('a journal marked done only finishes', async () => {
    const config = await poolConfig();
    expect(nextStep({ ...plannedJournal(config), step: 'done' }, config).action).toBe('finish');
  });

  it('killed after the relaunch, the agents are looked at again, never launched twice', async () => {
    const config = await poolConfig();
    const j = leftBehind(journalAt(config, 'relaunched'));
    expect(j.sessions.every((s) => s.relaunched)).toBe(true);
    expect(nextStep(j, config)).toEqual({
      action: 'settle',
      target: 'backup',
      sessions: ['ccl-0', 'ccl-1', 'ccl-2'],
    });
  });

  it('killed after the prompts, nothing is typed again: the swap finishes', async () => {
    const config = await poolConfig();
    const j = leftBehind(journalAt(config, 'prompted'));
    expect(j.sessions.find((s) => s.name === 'ccl-0')?.prompted).toBe(true);
    expect(nextStep(j, config).action).toBe('finish');
  });

  it('prompts only configured sessions with a task in flight that were not prompted yet', async () => {
    const config = await poolConfig();
    const j = journalAt(config, 'ready');
    expect(nextStep(j, config).sessions).toEqual(['ccl-0']);
    const withTasks = {
      ...j,
      sessions: j.sessions.map((s) => ({ ...s, task: TASK, prompted: s.name === 'ccl-1' })),
    };
    expect(nextStep(withTasks, config).sessions).toEqual(['ccl-0', 'ccl-2']);
    const fewer = { ...config, sessions: config.sessions.filter((s) => s.name !== 'ccl-0') };
    expect(nextStep(withTasks, fewer).sessions).toEqual(['ccl-2']);
  });

  it('a session gone from the config is checkpointed and stopped, never launched', async () => {
    const config = await poolConfig();
    const fewer = { ...config, sessions: config.sessions.filter((s) => s.name !== 'ccl-1') };
    expect(nextStep(journalAt(config, 'planned'), fewer).sessions).toHaveLength(3);
    expect(nextStep(journalAt(config, 'checkpointed'), fewer).sessions).toHaveLength(3);
    expect(nextStep(journalAt(config, 'stopped'), fewer).sessions).toEqual([]);
    expect(nextStep(journalAt(config, 'relinked'), fewer).sessions).toEqual(['ccl-0', 'ccl-2']);
    expect(nextStep(journalAt(config, 'relaunched'), fewer).sessions).toEqual(['ccl-0', 'ccl-2']);
  });

  it('after a failed target, the journal goes on from the relink with the next target', async () => {
    const config = await poolConfig();
    const failed = leftBehind(afterTargetFailed(journalAt(config, 'prompted'), 'spare'));
    expect(failed).toMatchObject({ step: 'stopped', to: 'spare', tried: ['backup'] });
    for (const s of failed.sessions) {
      expect(s).toMatchObject({ stopped: true, relaunched: false, ready: false, prompted: false });
    }
    expect(failed.sessions[0]).toMatchObject({ claudeSessionId: ID(0), task: TASK });
    expect(nextStep(failed, config)).toMatchObject({ action: 'relink', target: 'spare' });
    // A second failure adds to what was tried.
    expect(afterTargetFailed(failed, 'primary').tried).toEqual(['backup', 'spare']);
  });
});

describe('journal records', () => {
  it('the checkpoint keeps each session’s conversation, cwd and task', async () => {
    const config = await poolConfig();
    const j = afterCheckpoint(plannedJournal(config), new Map([['ccl-1', FACTS.get('ccl-1')!]]));
    expect(j.step).toBe('checkpointed');
    expect(j.sessions[1]).toMatchObject({ claudeSessionId: ID(1), cwd: '/src/api' });
    expect(j.sessions[0]).toMatchObject({ claudeSessionId: null, cwd: null });
  });

  it('a relaunch without the id checkpointed marks the session fresh', async () => {
    const config = await poolConfig();
    const stopped = journalAt(config, 'relinked');
    const j = afterRelaunch(
      stopped,
      new Map([
        ['ccl-0', ID(0)],
        ['ccl-1', null],
        // ccl-2 had no conversation: launching it without one is not "fresh".
        ['ccl-2', null],
      ]),
    );
    expect(j.sessions.map((s) => [s.relaunched, s.fresh])).toEqual([
      [true, false],
      [true, true],
      [true, false],
    ]);
    expect(j.sessions.map(relaunchResumeId)).toEqual([ID(0), null, null]);
    // A session left out was not launched.
    expect(afterRelaunch(stopped, new Map()).sessions.every((s) => !s.relaunched)).toBe(true);
  });

  it('the settle marks the ready agents and those Claude Code started fresh', async () => {
    const config = await poolConfig();
    const j = afterSettle(
      journalAt(config, 'relaunched'),
      new Map([
        ['ccl-0', { screen: 'ready', fresh: false }],
        ['ccl-1', { screen: 'login', fresh: true }],
      ]),
    );
    expect(j.step).toBe('ready');
    expect(j.sessions.map((s) => [s.ready, s.fresh])).toEqual([
      [true, false],
      [false, true],
      [false, false],
    ]);
  });

  it('records return a new journal and leave the one given alone', async () => {
    const config = await poolConfig();
    const j = journalAt(config, 'ready');
    const copy = structuredClone(j);
    afterPrompt(j, new Set(['ccl-0']));
    afterTargetFailed(j, 'spare');
    afterStop(j);
    expect(j).toEqual(copy);
  });
});
