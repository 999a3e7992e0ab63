/** `<project>/.agent-queue/status.json`: each session's idle/working state, kept by the hooks. */
import * as z from '../core/zod.js';
import { readFileIfExists } from '../core/fs-atomic.js';
import { queuePaths } from './files.js';

const agentStatusEntrySchema = z.looseObject({
  state: z.enum(['idle', 'working']),
  task: z._default(z.nullable(z.string()), null),
  claudeSessionId: z._default(z.nullable(z.string()), null),
  updatedAt: z._default(z.nullable(z.string()), null),
  /** What the hooks add: the account the agent runs on and its transcript. */
  account: z.optional(z.nullable(z.string())),
  transcriptPath: z.optional(z.nullable(z.string())),
});

export const agentStatusSchema = z.looseObject({
  sessions: z._default(z.record(z.string(), agentStatusEntrySchema), {}),
});

const looseStatusSchema = z.looseObject({
  sessions: z._default(z.record(z.string(), z.unknown()), {}),
});

export type AgentStatus = z.output<typeof agentStatusSchema>;
export type AgentStatusEntry = z.output<typeof agentStatusEntrySchema>;

/**
 * Reads a project's status.json. A missing file is empty; an invalid one is reported through
 * `onInvalid` and treated as empty, because the hooks rewrite it on the next signal.
 */
export function readAgentStatus(
  projectPath: string,
  onInvalid?: (msg: string) => void,
): AgentStatus {
  const file = queuePaths(projectPath).status;
  const text = readFileIfExists(file);
  if (text === undefined) return { sessions: {} };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    onInvalid?.(`${file}: not valid JSON (${(err as Error).message})`);
    return { sessions: {} };
  }
  const top = looseStatusSchema.safeParse(raw);
  if (!top.success) {
    onInvalid?.(`${file}: expected {"sessions": {...}}`);
    return { sessions: {} };
  }
  // One bad entry must not hide every other session's signals: entries parse one by one.
  const sessions: AgentStatus['sessions'] = {};
  for (const [name, entry] of Object.entries(top.data.sessions)) {
    const parsed = agentStatusEntrySchema.safeParse(entry);
    if (parsed.success) sessions[name] = parsed.data;
    else {
      const issue = parsed.error.issues[0]!;
      onInvalid?.(`${file}: sessions.${name}.${issue.path.join('.')}: ${issue.message}`);
    }
  }
  return { sessions };
}
