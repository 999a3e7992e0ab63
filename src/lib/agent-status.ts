/** `<project>/.agent-queue/status.json`: each session's idle/working state, kept by the hooks. */
import * as z from './zod.js';
import { readFileIfExists } from './fs-atomic.js';
import { queuePaths } from './queue-files.js';

export const agentStatusEntrySchema = z.looseObject({
  state: z.enum(['idle', 'working']),
  task: z._default(z.nullable(z.string()), null),
  claudeSessionId: z._default(z.nullable(z.string()), null),
  updatedAt: z._default(z.nullable(z.string()), null),
});

export const agentStatusSchema = z.looseObject({
  sessions: z._default(z.record(z.string(), agentStatusEntrySchema), {}),
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
  try {
    const parsed = agentStatusSchema.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0]!;
    onInvalid?.(`${file}: ${issue.path.join('.')}: ${issue.message}`);
  } catch (err) {
    onInvalid?.(`${file}: not valid JSON (${(err as Error).message})`);
  }
  return { sessions: {} };
}
