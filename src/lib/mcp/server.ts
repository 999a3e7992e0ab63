/**
 * `claude-failover mcp`: a stdio MCP server on the official SDK (`@modelcontextprotocol/server`,
 * loaded only here). Each call reads the config afresh and runs the same lib function as the
 * matching command, with its locks; nothing is held between calls, so a long-lived server
 * and a cron `tick` never get in each other's way. A tool's failure is a tool error (the
 * field named for bad input), never a crash; every result is redacted.
 */
import type { BaseContext, Context } from '../core/context.js';
import { CliError } from '../core/errors.js';
import { ENV_SESSION } from '../core/env-names.js';
import { logEvent } from '../core/events.js';
import { redact, redactDeep } from '../core/redact.js';
import { VERSION } from '../core/version.js';
import * as z from '../core/zod.js';
import type { Served, ToolDef } from './tool.js';
import { READ_TOOLS } from './tools-read.js';
import { WRITE_TOOLS } from './tools-write.js';

/** The server's name, and so the prefix of its tools in Claude Code: `mcp__claude-failover__`. */
export const MCP_SERVER_NAME = 'claude-failover';

export interface McpServerOptions {
  /** `--allow-write`; otherwise `mcp.allowWrite` of the config read at start. */
  allowWrite?: boolean;
}

type ToolResult = {
  content: Array<{ type: 'text'; text: string }>;
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
};

/**
 * A zod/mini schema as the SDK wants it: Standard Schema validation by zod, and the JSON
 * Schema that `tools/list` advertises. A failed check names the field (the SDK adds its path).
 */
function standardSchema<T>(schema: z.ZodMiniType<T>) {
  const json = (io: 'input' | 'output') => () =>
    z.toJSONSchema(schema, { io, target: 'draft-2020-12' }) as Record<string, unknown>;
  return {
    '~standard': {
      version: 1 as const,
      vendor: 'zod',
      validate: (value: unknown) => {
        const r = schema.safeParse(value ?? {});
        if (r.success) return { value: r.data };
        return {
          issues: r.error.issues.map((issue) => ({
            // The SDK puts the field's path in front of the message.
            message: issue.path.length ? z.issueText(issue) : `arguments: ${z.issueText(issue)}`,
            path: issue.path as PropertyKey[],
          })),
        };
      },
      jsonSchema: { input: json('input'), output: json('output') },
    },
  };
}

/**
 * The lib names what was wrong the way the command line spells it: `--dry-run: ...`,
 * `task id: ...`, `unknown project 'x'`. A tool's caller knows fields: `dryRun: ...`,
 * `id: ...`, `project: unknown project 'x'`.
 */
function fieldName(message: string): string {
  return message
    .replace(
      /^--([a-z][a-z-]*):/,
      (_m, flag: string) => `${flag.replace(/-([a-z])/g, (_c, ch: string) => ch.toUpperCase())}:`,
    )
    .replace(/^task id:/, 'id:')
    .replace(/^unknown project /, 'project: unknown project ');
}

function errorResult(err: unknown): ToolResult {
  const e = err instanceof Error ? err : new Error(String(err));
  const hint = err instanceof CliError && err.hint ? ` (hint: ${err.hint})` : '';
  return {
    content: [{ type: 'text', text: redact(`${fieldName(e.message)}${hint}`) }],
    isError: true,
  };
}

/**
 * Every write call leaves an `mcp.called` event: which tool, for which session (null: an
 * operator's client), and its error. The log answers "who requeued this task?".
 */
function audit(ctx: Context, tool: string, served: Served, err: unknown): void {
  try {
    const error = err === null ? null : err instanceof Error ? err.message : String(err);
    logEvent(ctx, 'mcp.called', { tool, session: served.session, error }, error ? 'warn' : 'info');
  } catch {
    // A log that cannot be written must not turn a done call into an error.
  }
}

/** Which tools this server offers: the read tools, and the write tools when allowed. */
export function offeredTools(allowWrite: boolean): ToolDef<never>[] {
  return [...READ_TOOLS, ...(allowWrite ? WRITE_TOOLS : [])] as unknown as ToolDef<never>[];
}

/** Whether writes are allowed: the flag, else `mcp.allowWrite` (false when no config loads). */
async function writesAllowed(base: BaseContext, opts: McpServerOptions): Promise<boolean> {
  if (opts.allowWrite) return true;
  try {
    const { loadConfig } = await import('../core/config.js');
    return (await loadConfig({ explicit: base.configPath, cwd: base.cwd, env: base.env })).mcp
      .allowWrite;
  } catch (err) {
    base.out.warn(`mcp: read-only: ${(err as Error).message}`);
    return false;
  }
}

/**
 * Serves MCP on stdin/stdout until the client closes stdin. `base` must write nothing to
 * stdout: that is the protocol's channel.
 */
export async function runMcpServer(base: BaseContext, opts: McpServerOptions = {}): Promise<void> {
  const { McpServer } = await import('@modelcontextprotocol/server');
  const { StdioServerTransport } = await import('@modelcontextprotocol/server/stdio');
  const { createContext } = await import('../core/context.js');
  const allowWrite = await writesAllowed(base, opts);
  const served: Served = { session: base.env[ENV_SESSION] || null };
  const server = new McpServer(
    { name: MCP_SERVER_NAME, version: VERSION },
    {
      instructions:
        'Controls a claude-failover pool of Claude Code agents: status, tasks, sessions, quota verdicts and events' +
        (allowWrite ? '; it can also change the queue, restart sessions and swap accounts.' : '.'),
    },
  );
  for (const tool of offeredTools(allowWrite)) {
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: standardSchema(tool.input),
        annotations: { readOnlyHint: !tool.write, openWorldHint: false },
      },
      async (input: unknown): Promise<ToolResult> => {
        let ctx: Context | null = null;
        try {
          ctx = await createContext(base);
          // The config may have turned writes off since the server started.
          if (tool.write && !opts.allowWrite && !ctx.config.mcp.allowWrite)
            throw new CliError(`${tool.name}: mcp.allowWrite is false in ${ctx.config.file}`);
          const result = redactDeep(await tool.run(ctx, input as never, served));
          if (tool.write) audit(ctx, tool.name, served, null);
          return {
            content: [{ type: 'text', text: JSON.stringify(result, null, 2) }],
            structuredContent: result,
          };
        } catch (err) {
          if (tool.write && ctx) audit(ctx, tool.name, served, err);
          return errorResult(err);
        }
      },
    );
  }
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => (transport.onclose = resolve));
  await server.connect(transport);
  await closed;
}
