/**
 * A pool for the swap's pure functions: config, state and journal as data, at a fixed
 * clock. The directories do not exist: nothing here touches tmux or writes a file.
 */
import type { Config } from '../../src/lib/core/config.js';
import { parseConfigText } from '../../src/lib/core/config-parse.js';
import {
  accountState,
  emptyState,
  sessionState,
  type State,
  type SwapJournal,
} from '../../src/lib/core/state-schema.js';
import { newJournal } from '../../src/lib/swap/plan.js';

export const NOW = new Date('2026-03-02T10:00:00.000Z');
export const LATER = '2026-03-02T15:00:00.000Z';
export const EARLIER = '2026-03-02T09:00:00.000Z';
const HOME = '/nonexistent/cf-swap-unit';

let parsed: Promise<Config> | undefined;

/**
 * primary (1), backup (2), spare (3), and `off` (0, disabled); sessions ccl-0..2. Parsed
 * once per file: the tests only read it.
 */
export function poolConfig(): Promise<Config> {
  parsed ??= parseConfigText(configYaml(), `${HOME}/config.yaml`, { env: { HOME } });
  return parsed;
}

function configYaml(): string {
  return `stateDir: ${HOME}/state
sharedProjectsDir: ${HOME}/shared/projects
accounts:
  - { name: off, configDir: ${HOME}/accounts/off, priority: 0, enabled: false }
  - { name: primary, configDir: ${HOME}/accounts/primary, priority: 1 }
  - { name: backup, configDir: ${HOME}/accounts/backup, priority: 2 }
  - { name: spare, configDir: ${HOME}/accounts/spare, priority: 3 }
projects:
  - { name: api, path: ${HOME}/src/api }
sessions:
  - { name: 'ccl-{0..2}', project: api }
swap: { historyMax: 2 }
`;
}

/** Every session launched on primary, the active account. */
export function poolState(): State {
  const st = emptyState();
  st.activeAccount = 'primary';
  for (const name of ['ccl-0', 'ccl-1', 'ccl-2']) {
    Object.assign(sessionState(st, name), { account: 'primary', launchedAt: EARLIER });
  }
  return st;
}

export function markExhausted(st: State, account: string, until = LATER): void {
  accountState(st, account).exhaustedUntil = until;
}

export function markAuthError(st: State, account: string): void {
  accountState(st, account).authErrorAt = EARLIER;
}

/** A swap of ccl-0..2 from primary to backup, just planned. */
export function plannedJournal(config: Config, to = 'backup'): SwapJournal {
  return newJournal(
    { from: 'primary', to, reason: 'limit', sessions: config.sessions },
    { id: 'swap-1', pid: 4242, now: NOW, trigger: null },
  );
}
