/**
 * The read tools, always offered: the status report, the task queue, the sessions, a quota
 * verdict for pasted text and the last events. None of them takes a lock that a write holds
 * for long: they read the state file as `status` does (writes are atomic renames).
 */
import { listSessions } from '../agents/session-control.js';
import { readLinesFromEnd } from '../claude/lines-from-end.js';
import { eventsPath, type EventRecord } from '../core/events.js';
import * as z from '../core/zod.js';
import { buildStatus } from '../ops/status.js';
import { explainSettings } from '../quota/explain.js';
import { createClassifier, toVerdictJson } from '../quota/index.js';
import { listTasks } from '../tasks/list.js';
import { defineTool } from './tool.js';

const EVENTS_DEFAULT = 50;
const EVENTS_MAX = 1000;
// Enough for the last events of a rotated log (janitor.eventsMaxBytes defaults to 10 MB).
const EVENTS_SCAN_BYTES = 16 * 1024 * 1024;

const status = defineTool({
  name: 'status',
  title: 'Pool status',
  description:
    'What the pool is doing now: accounts (status, usage, exhausted until), sessions (state, task, account), queues (pending, dispatched, done, failed), the last swap, the cooldown and warnings. The same document as `claude-failover status --json`.',
  input: z.strictObject({}),
  write: false,
  run: async (ctx) => ({ ...(await buildStatus(ctx)) }),
});

const taskList = defineTool({
  name: 'task_list',
  title: 'List tasks',
  description:
    'Every task in the queues with its state (pending, dispatched, done, failed), priority, session and detail, as `claude-failover task list --json`.',
  input: z.strictObject({ project: z.optional(z.string()) }),
  write: false,
  run: async (ctx, input) => ({ tasks: await listTasks(ctx, input.project) }),
});

const sessionList = defineTool({
  name: 'session_list',
  title: 'List sessions',
  description:
    "Each configured session's account, state, pid, working dir and Claude Code conversation id; `names` picks some (default: all).",
  input: z.strictObject({ names: z._default(z.array(z.string()), []) }),
  write: false,
  run: async (ctx, input) => ({ sessions: await listSessions(ctx, input.names) }),
});

const quotaExplain = defineTool({
  name: 'quota_explain',
  title: 'Classify a usage-limit message',
  description:
    'Classifies pane text or a message as Claude Code shows it: verdict (limit, warning, transient, stale, none), kind, the reset time in UTC, the pattern and the line that decided. `now` (ISO) fixes the detection time, `tz` the zone for clock-only reset times.',
  input: z.strictObject({
    text: z.string(),
    now: z.optional(z.string()),
    tz: z.optional(z.string()),
  }),
  write: false,
  run: async (ctx, input) => {
    const settings = await explainSettings(
      { now: input.now, tz: input.tz, config: ctx.config.file ?? undefined },
      ctx.env,
      ctx.cwd,
    );
    const classifier = await createClassifier({
      timezone: settings.timezone,
      patterns: settings.patterns,
    });
    return { ...toVerdictJson(classifier.classify(input.text, settings.now)) };
  },
});

/** The last `limit` events of the log, oldest first, that `match` accepts. */
function lastEvents(
  file: string,
  limit: number,
  match: (e: EventRecord) => boolean,
): EventRecord[] {
  const found: EventRecord[] = [];
  try {
    readLinesFromEnd(
      file,
      (line) => {
        let record: EventRecord;
        try {
          record = JSON.parse(line) as EventRecord;
        } catch {
          return false; // a torn line from a crash
        }
        if (match(record)) found.push(record);
        return found.length >= limit;
      },
      { maxBytes: EVENTS_SCAN_BYTES },
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return found.reverse();
}

const events = defineTool({
  name: 'events',
  title: 'Recent events',
  description: `The last events of events.jsonl (swaps, detections, dispatches, task changes, failures), oldest first, secrets redacted. \`name\` keeps one event name (quota.detected); \`prefix\` keeps a family (swap. or task.); \`limit\` is how many (default ${EVENTS_DEFAULT}, at most ${EVENTS_MAX}).`,
  input: z.strictObject({
    limit: z._default(z.int().check(z.gte(1), z.lte(EVENTS_MAX)), EVENTS_DEFAULT),
    name: z.optional(z.string()),
    prefix: z.optional(z.string()),
    session: z.optional(z.string()),
  }),
  write: false,
  run: async (ctx, input) => ({
    events: lastEvents(
      eventsPath(ctx.config.stateDir),
      input.limit,
      (e) =>
        (input.name === undefined || e.event === input.name) &&
        (input.prefix === undefined || String(e.event).startsWith(input.prefix)) &&
        (input.session === undefined || e.session === input.session),
    ),
  }),
});

/** The read tools, in the order they are listed. */
export const READ_TOOLS = [status, taskList, sessionList, quotaExplain, events];
