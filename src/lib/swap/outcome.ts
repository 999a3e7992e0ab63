/**
 * How a swap ends, as data: the record kept in the state file, what each session resumes
 * next time, and the result `runSwap` returns.
 */
import type { Config } from '../core/config.js';
import { countSwap } from '../core/state-counters.js';
import {
  sessionState,
  type State,
  type SwapJournal,
  type SwapRecord,
} from '../core/state-schema.js';
import type { SwapResult, SwapSessionResult } from './types.js';

/** What the swap's own settle saw of an agent (nothing when it resumed after the settle). */
export interface AgentSeen {
  screen: string;
  claudeSessionId: string | null;
}

export interface SwapEnd {
  rolledBack: boolean;
  resumed: boolean;
  durationMs: number;
  at: Date;
}

export function swapRecord(journal: SwapJournal, end: SwapEnd): SwapRecord {
  return {
    from: journal.from,
    to: journal.to,
    at: end.at.toISOString(),
    reason: journal.reason,
    trigger: journal.trigger,
    sessions: journal.sessions.map((s) => s.name),
    durationMs: end.durationMs,
    outcome: end.rolledBack ? 'rolled-back' : 'completed',
  };
}

/**
 * The conversation a session resumes next time: what the agent reports running (a copy
 * Claude Code made has its own id), else what the hooks last said, else the id it was
 * resumed with. A session started fresh never goes back to the id it gave up on.
 */
export function sessionIdAfterSwap(
  js: SwapJournal['sessions'][number],
  reported: string | null,
  fromHook: string | null,
): string | null {
  return js.fresh ? (reported ?? fromHook ?? null) : (reported ?? js.claudeSessionId ?? fromHook);
}

/**
 * Writes the end of a swap into the state: every session on the journal's `to` with its
 * conversation, the record in the history, the cooldown (not after a rollback), and no
 * journal. `hookIds` holds the id the hooks last reported per session.
 */
export function applySwapEnd(
  st: State,
  config: Pick<Config, 'quota' | 'swap'>,
  journal: SwapJournal,
  record: SwapRecord,
  seen: ReadonlyMap<string, AgentSeen>,
  hookIds: ReadonlyMap<string, string | null>,
): void {
  const at = record.at;
  for (const js of journal.sessions) {
    const ss = sessionState(st, js.name);
    ss.account = journal.to;
    ss.launchedAt = at;
    const reported = seen.get(js.name)?.claudeSessionId ?? null;
    ss.claudeSessionId = sessionIdAfterSwap(js, reported, hookIds.get(js.name) ?? null);
  }
  st.lastSwap = record;
  st.swaps = [...st.swaps, record].slice(-config.swap.historyMax);
  countSwap(st, record.outcome, record.trigger?.pattern);
  if (record.outcome === 'completed') {
    st.cooldownUntil = new Date(Date.parse(at) + config.quota.reactivateCooldown).toISOString();
    st.noUsableAccountSince = null;
  }
  st.pendingSwap = null;
  st.swapJournal = null;
}

export function sessionResults(
  journal: SwapJournal,
  seen: ReadonlyMap<string, AgentSeen>,
): SwapSessionResult[] {
  return journal.sessions.map((js) => ({
    name: js.name,
    claudeSessionId: js.claudeSessionId,
    fresh: js.fresh,
    ready: js.ready,
    screen: seen.get(js.name)?.screen ?? null,
    task: js.task?.id ?? null,
    prompted: js.prompted,
  }));
}

export function swapResult(
  journal: SwapJournal,
  sessions: SwapSessionResult[],
  end: SwapEnd,
): SwapResult {
  return {
    outcome: end.rolledBack ? 'rolled-back' : 'completed',
    from: journal.from ?? '',
    to: journal.to,
    reason: journal.reason,
    resumed: end.resumed,
    tried: journal.tried,
    sessions,
    durationMs: end.durationMs,
  };
}
