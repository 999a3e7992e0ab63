/** Environment variables the toolkit sets for each agent; hooks read them instead of a config. */
export const ENV_SESSION = 'CLAUDE_FAILOVER_SESSION';
export const ENV_ACCOUNT = 'CLAUDE_FAILOVER_ACCOUNT';
/** The config file the session was launched with (the CLI's own lookup reads it). */
export const ENV_CONFIG = 'CLAUDE_FAILOVER_CONFIG';
export const ENV_STATE_DIR = 'CLAUDE_FAILOVER_STATE_DIR';
/** The project directory whose `.agent-queue/status.json` the hooks keep. */
export const ENV_PROJECT = 'CLAUDE_FAILOVER_PROJECT';

/**
 * Inherited variables that must never reach an agent: a tmux server passes on the
 * environment it was started with, and `CLAUDE_CODE_CHILD_SESSION`, for one, silently turns
 * transcript saving off.
 */
export function isForbiddenAgentVar(name: string): boolean {
  return name === 'CLAUDECODE' || name.startsWith('CLAUDE_CODE_');
}
