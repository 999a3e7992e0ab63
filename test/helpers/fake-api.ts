/**
 * A loopback fake of the Anthropic Messages API for driving the real Claude Code CLI in tests
 * (`ANTHROPIC_BASE_URL=<url>`). It answers `POST /v1/messages` with Anthropic SSE events,
 * keyed per bearer token so that accounts can behave differently, records every request, and
 * answers anything else quickly (never hangs). Nothing here reaches the network.
 *
 * Modes (per token, with a default):
 * - `ok`: a text answer `ECHO: <last user text>` with unified rate-limit headers `allowed`.
 * - `tool`: a `Bash` tool_use `{"command":"echo hi"}` first; once the tool_result comes back,
 *   a text answer `TOOL RESULT: <result>`.
 * - `limit`: 429 `rate_limit_error` with `anthropic-ratelimit-unified-status: rejected` and a
 *   reset epoch: Claude Code's subscription usage-limit screen.
 * - `error500-ratelimit`: 500 `api_error` whose message says "rate limit" (a transient error
 *   Claude Code retries; it must never count as a quota hit).
 * - `overloaded529`: 529 `overloaded_error` (transient, retried).
 * - `overloaded529-ratelimit`: 529 `overloaded_error` whose message says "rate limit" (transient).
 * - `task`: an agent that does what our `dispatch.prompt` asks with Claude Code's own Bash tool.
 *   A prompt holding `run: <command line>` gets one `tool_use` step at a time: some work
 *   (`echo 'working on <task> (step n/2)'`, after `sleep` when `taskStepSeconds` is set), then
 *   exactly that command line, then a final text. A prompt without `run:` (our resume prompt)
 *   finds the last `run:` line earlier in the conversation (the request carries the whole
 *   history) and runs it only if it has not run yet: no earlier `tool_use` with that exact
 *   command whose `tool_result` came back. Everything is derived from the history, so the
 *   mode composes with switching to `limit` and back midway. `toolCalls` records every
 *   command issued; `ranCommands()` those whose result came back.
 *
 * - `mcp-task`: an agent that finishes its task with our MCP server's tool. A prompt holding
 *   `mcp__claude-failover__task_done` and `id: <task id>` gets a `ToolSearch` that loads the
 *   (deferred) tool, then one `tool_use` of that tool with `{"id": <task id>}`; once its
 *   `tool_result` is back, a text `TOOL RESULT: <text>`. Without the tool and without
 *   `ToolSearch`, a text `NO TOOL mcp__claude-failover__task_done`. `toolCalls` records
 *   both calls, kind `mcp`, as `<tool name> <input JSON>`.
 *
 * A burst (`startBurst`) overrides a token's mode for a while: its requests get the burst's
 * error modes in turn (500, 529, 500, ...), then the token's own mode again. Claude Code
 * retries through it and its turn ends normally once the burst is over.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';

export type FakeMode =
  | 'ok'
  | 'tool'
  | 'task'
  | 'mcp-task'
  | 'limit'
  | 'error500-ratelimit'
  | 'overloaded529'
  | 'overloaded529-ratelimit';

export interface FakeBurst {
  /** How long the burst lasts from now, in ms. */
  ms: number;
  /** The modes its requests get, in turn (default: 500 then 529, both saying "rate limit"). */
  modes?: FakeMode[];
}

export interface FakeUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

export interface FakeApiOptions {
  /** Mode for tokens without their own (default `ok`). */
  defaultMode?: FakeMode;
  /**
   * Header values of `anthropic-ratelimit-unified-5h-utilization` / `-7d-utilization` on
   * normal answers. Fractions (0.42 = 42 %): that is what Claude Code 2.1.328 expects; it
   * multiplies by 100 for the statusline's `used_percentage`.
   */
  fiveHourUtilization?: number;
  sevenDayUtilization?: number;
  /** Reset epoch (seconds) of the 5 h window, on normal answers and in `limit` mode. */
  fiveHourResetEpoch?: number;
  sevenDayResetEpoch?: number;
  /** Usage numbers reported on every answer (large ones make a conversation look long). */
  usage?: Partial<FakeUsage>;
  /** Milliseconds between SSE events (default 5): a visible "working" phase when larger. */
  eventDelayMs?: number;
  /** `task` mode: how long each work step's command sleeps, in seconds (default 0). */
  taskStepSeconds?: number;
  /** Called with a one-line summary of each request (e.g. `console.error`). */
  log?: (line: string) => void;
}

export interface RecordedRequest {
  at: string;
  method: string;
  /** Path with the query string. */
  url: string;
  /** The bearer token (or x-api-key) the request carried; null when none. */
  token: string | null;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON body, or the raw text when it is not JSON, or null when empty. */
  body: unknown;
  /** What we answered. */
  status: number;
  mode: FakeMode | null;
}

/** A `Bash` tool call the fake answered with. */
export interface FakeToolCall {
  at: string;
  token: string | null;
  /** The `tool_use` id. */
  id: string;
  command: string;
  /**
   * `work` (a step of the task), `run` (the command after `run:`), `echo` (`tool` mode) or
   * `mcp` (an MCP tool: `command` is `<tool name> <input JSON>`).
   */
  kind: 'work' | 'run' | 'echo' | 'mcp';
  /** Index of the request it answered, in `requests`. */
  request: number;
}

export interface FakeApi {
  url: string;
  port: number;
  /** Every request, in arrival order. */
  requests: RecordedRequest[];
  /** Sets the mode of one bearer token, or of every token without its own with `'default'`. */
  setMode(tokenOrDefault: string, mode: FakeMode): void;
  modeFor(token: string | null): FakeMode;
  /** Changes the pause between SSE events from now on (a long one keeps the TUI working). */
  setEventDelay(ms: number): void;
  /** Changes the usage numbers reported from now on. */
  setUsage(usage: Partial<FakeUsage>): void;
  /** Starts a burst of errors for one bearer token (or every token with `'default'`). */
  startBurst(tokenOrDefault: string, burst: FakeBurst): void;
  /**
   * Puts a token in `limit` mode until `resetEpoch` (seconds), which its 429s carry as the
   * reset; from then on it answers in `then` (default: the mode it had). `setMode` ends it.
   */
  limitUntil(tokenOrDefault: string, resetEpoch: number, then?: FakeMode): void;
  /** `task` mode: changes how long each work step sleeps from now on. */
  setTaskStepSeconds(seconds: number): void;
  /** Every `Bash` command the fake asked for, in order. */
  toolCalls: FakeToolCall[];
  /** The tool calls whose `tool_result` came back in a later request (they ran). */
  ranCommands(token?: string): FakeToolCall[];
  /** The `POST /v1/messages` requests, optionally of one token. */
  messageRequests(token?: string): RecordedRequest[];
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

const MODEL_FALLBACK = 'claude-sonnet-4-5';

/** The text of a user message's content (string or blocks), system reminders left out. */
function userText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const texts = (content as Json[])
    .filter((b) => b && b.type === 'text' && typeof b.text === 'string')
    .map((b) => b.text as string)
    .filter((t) => !t.trimStart().startsWith('<system-reminder>'));
  return texts.at(-1) ?? '';
}

function toolResultText(content: unknown): string | null {
  if (!Array.isArray(content)) return null;
  const res = (content as Json[]).find((b) => b && b.type === 'tool_result');
  if (!res) return null;
  const c = res.content;
  if (typeof c === 'string') return c;
  if (Array.isArray(c))
    return (c as Json[])
      .map((b) => (typeof b.text === 'string' ? b.text : ''))
      .join('')
      .trim();
  return '';
}

function lastUser(body: Json): Json | null {
  const messages = Array.isArray(body.messages) ? (body.messages as Json[]) : [];
  for (let i = messages.length - 1; i >= 0; i--)
    if (messages[i]?.role === 'user') return messages[i]!;
  return null;
}

function hasBashTool(body: Json): boolean {
  return Array.isArray(body.tools) && (body.tools as Json[]).some((t) => t?.name === 'Bash');
}

/** The text blocks of a message that a person wrote (no reminders, no interruption notes). */
function promptText(content: unknown): string | null {
  const texts =
    typeof content === 'string'
      ? [content]
      : Array.isArray(content)
        ? (content as Json[])
            .filter((b) => b && b.type === 'text' && typeof b.text === 'string')
            .map((b) => b.text as string)
        : [];
  const mine = texts.filter((t) => {
    const x = t.trimStart();
    return x && !x.startsWith('<system-reminder>') && !x.startsWith('[Request interrupted');
  });
  return mine.length ? mine.join('\n') : null;
}

/** The command line after the last `run: ` of a prompt (to the end of its line). */
export function runCommandOf(text: string): string | null {
  const all = [...text.matchAll(/\brun: (.+)$/gm)];
  const cmd = all.at(-1)?.[1]?.trim();
  return cmd || null;
}

type ToolUse = { id: string; command: string };

function toolUses(content: unknown): ToolUse[] {
  if (!Array.isArray(content)) return [];
  return (content as Json[])
    .filter((b) => b && b.type === 'tool_use' && typeof b.id === 'string')
    .map((b) => ({
      id: b.id as string,
      command: String((b.input as Json | undefined)?.command ?? ''),
    }));
}

function toolResultIds(content: unknown): string[] {
  if (!Array.isArray(content)) return [];
  return (content as Json[])
    .filter((b) => b && b.type === 'tool_result' && typeof b.tool_use_id === 'string')
    .map((b) => b.tool_use_id as string);
}

/** What `task` mode does next, from the conversation alone. */
export type TaskStep =
  | { kind: 'tool'; command: string; step: 'work' | 'run'; text: string }
  | { kind: 'text'; text: string };

/**
 * The next step of `task` mode for a conversation (the request's `messages`): see the mode's
 * description at the top of this file. `workCommand(label, n)` makes the n-th work step.
 */
export function nextTaskStep(
  messages: Json[],
  workCommand: (label: string, n: number, of: number) => string,
): TaskStep {
  // The turn's prompt: the last user message with text a person wrote (a tool result and the
  // next prompt can share one message, when the turn before ended on an error).
  let p = -1;
  for (let i = messages.length - 1; i >= 0 && p < 0; i--)
    if (messages[i]?.role === 'user' && promptText(messages[i]!.content) !== null) p = i;
  if (p < 0) return { kind: 'text', text: 'ECHO: ' };
  const prompt = promptText(messages[p]!.content)!;
  // Tool results before (and in) the prompt message: the commands that ran before this turn.
  const answered = new Set(messages.slice(0, p + 1).flatMap((m) => toolResultIds(m.content)));
  const ranBefore = (cmd: string) =>
    messages
      .slice(0, p)
      .some(
        (m) =>
          m.role === 'assistant' &&
          toolUses(m.content).some((t) => t.command === cmd && answered.has(t.id)),
      );
  let command = runCommandOf(prompt);
  let plan: Array<{ command: string; step: 'work' | 'run' }>;
  let label: string;
  if (command) {
    label = taskLabel(command);
    plan = [
      { command: workCommand(label, 1, 2), step: 'work' },
      { command: workCommand(label, 2, 2), step: 'work' },
      { command, step: 'run' },
    ];
  } else {
    // A resume prompt: the last `run:` line earlier in the conversation.
    for (let i = p - 1; i >= 0 && !command; i--) {
      const t = messages[i]!.role === 'user' ? promptText(messages[i]!.content) : null;
      if (t) command = runCommandOf(t);
    }
    if (!command) return { kind: 'text', text: `ECHO: ${oneLine(prompt)}` };
    label = taskLabel(command);
    if (ranBefore(command)) return { kind: 'text', text: `Task ${label} was already finished.` };
    plan = [
      { command: workCommand(label, 1, 1), step: 'work' },
      { command, step: 'run' },
    ];
  }
  const issued = messages
    .slice(p + 1)
    .filter((m) => m.role === 'assistant' && toolUses(m.content).length > 0).length;
  const next = plan[issued];
  if (!next) return { kind: 'text', text: `Task ${label} is finished.` };
  return {
    kind: 'tool',
    command: next.command,
    step: next.step,
    text: next.step === 'run' ? `Marking ${label} done.` : `Working on ${label}.`,
  };
}

/** The MCP tool `mcp-task` mode calls: our server's `task_done`, as Claude Code names it. */
export const MCP_TASK_DONE = 'mcp__claude-failover__task_done';

/**
 * What `mcp-task` mode does next, from the conversation alone. Claude Code 2.1.328 defers MCP
 * tools: it names them in a system message and offers `ToolSearch`, which must load a tool's
 * schema before the tool can be called, so the fake does what a model does: `ToolSearch`
 * with `select:<tool>` first (unless the tool is offered outright), then the tool.
 */
export function nextMcpStep(
  messages: Json[],
  tools: string[],
): { kind: 'tool'; name: string; input: Record<string, unknown> } | { kind: 'text'; text: string } {
  // The prompt that asks for the tool (Claude Code adds text of its own, "Tool loaded.", to
  // the message that carries ToolSearch's result).
  let p = -1;
  for (let i = messages.length - 1; i >= 0 && p < 0; i--)
    if (messages[i]?.role === 'user' && promptText(messages[i]!.content)?.includes(MCP_TASK_DONE))
      p = i;
  const prompt = p < 0 ? '' : promptText(messages[p]!.content)!;
  const taskId = /\bid: ?(\S+)/.exec(prompt)?.[1];
  if (!taskId) {
    const last = messages.findLast((m) => m.role === 'user');
    return { kind: 'text', text: `ECHO: ${oneLine(last ? userText(last.content) : '')}` };
  }
  const after = messages.slice(p + 1);
  const answered = new Set(after.flatMap((m) => toolResultIds(m.content)));
  const used = after.flatMap((m) =>
    m.role === 'assistant' && Array.isArray(m.content)
      ? (m.content as Json[]).filter((b) => b?.type === 'tool_use')
      : [],
  );
  const done = used.find((b) => b.name === MCP_TASK_DONE && answered.has(b.id as string));
  if (done) {
    const result = after.find((m) => toolResultIds(m.content).includes(done.id as string))!;
    return {
      kind: 'text',
      text: `TOOL RESULT: ${oneLine(toolResultText(result.content) ?? '', 200)}`,
    };
  }
  const loaded = used.some((b) => b.name === 'ToolSearch' && answered.has(b.id as string));
  if (tools.includes(MCP_TASK_DONE) || loaded)
    return { kind: 'tool', name: MCP_TASK_DONE, input: { id: taskId } };
  if (tools.includes('ToolSearch'))
    return {
      kind: 'tool',
      name: 'ToolSearch',
      input: { query: `select:${MCP_TASK_DONE}`, max_results: 1 },
    };
  return { kind: 'text', text: `NO TOOL ${MCP_TASK_DONE}` };
}

/** A task's name for the work steps: the last word of its command, shell-safe. */
function taskLabel(command: string): string {
  const last = command.split(/\s+/).at(-1) ?? 'the-task';
  return last.replace(/[^A-Za-z0-9._-]/g, '') || 'the-task';
}

/** A single line of text, short, for echoing into a pane. */
function oneLine(text: string, max = 80): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, max);
}

const id = (prefix: string) => `${prefix}_fake${randomBytes(8).toString('hex')}`;

type Block =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; name: string; input: Record<string, unknown>; id?: string };

/** Starts the fake on 127.0.0.1 with an ephemeral port. */
export async function startFakeApi(opts: FakeApiOptions = {}): Promise<FakeApi> {
  const modes = new Map<string, FakeMode>();
  let defaultMode: FakeMode = opts.defaultMode ?? 'ok';
  const requests: RecordedRequest[] = [];
  const now = () => Math.floor(Date.now() / 1000);
  const fiveHourReset = () => opts.fiveHourResetEpoch ?? now() + 3 * 3600;
  const sevenDayReset = () => opts.sevenDayResetEpoch ?? now() + 4 * 86400;
  const usage: FakeUsage = {
    input_tokens: 12,
    output_tokens: 8,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    ...opts.usage,
  };
  let delay = opts.eventDelayMs ?? 5;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const bursts = new Map<string, { until: number; modes: FakeMode[]; served: number }>();
  const limits = new Map<string, { reset: number; then: FakeMode }>();
  let taskStepSeconds = opts.taskStepSeconds ?? 0;
  const toolCalls: FakeToolCall[] = [];
  const ownMode = (token: string | null): FakeMode =>
    (token !== null ? modes.get(token) : undefined) ?? defaultMode;
  /** A `limitUntil` in force for `token` (its own, else the default's); ended ones go. */
  const limitOf = (token: string | null) => {
    for (const key of [token, 'default']) {
      if (key === null) continue;
      const l = limits.get(key);
      if (!l) continue;
      if (now() < l.reset) return l;
      limits.delete(key);
      if (key === 'default') defaultMode = l.then;
      else modes.set(key, l.then);
    }
    return null;
  };
  const modeFor = (token: string | null): FakeMode => (limitOf(token) ? 'limit' : ownMode(token));
  /** The mode for the next request of `token`: the burst's next mode while one is on. */
  const nextMode = (token: string | null): FakeMode => {
    const b = (token !== null ? bursts.get(token) : undefined) ?? bursts.get('default');
    if (b && Date.now() < b.until) return b.modes[b.served++ % b.modes.length]!;
    return modeFor(token);
  };
  const workCommand = (label: string, n: number, of: number) =>
    `${taskStepSeconds > 0 ? `sleep ${taskStepSeconds} && ` : ''}echo 'working on ${label} (step ${n}/${of})'`;

  const unifiedAllowed = (): Record<string, string> => ({
    'anthropic-ratelimit-unified-status': 'allowed',
    'anthropic-ratelimit-unified-reset': String(fiveHourReset()),
    'anthropic-ratelimit-unified-representative-claim': 'five_hour',
    'anthropic-ratelimit-unified-fallback-percentage': '0.5',
    'anthropic-ratelimit-unified-5h-status': 'allowed',
    'anthropic-ratelimit-unified-5h-utilization': String(opts.fiveHourUtilization ?? 0.42),
    'anthropic-ratelimit-unified-5h-reset': String(fiveHourReset()),
    'anthropic-ratelimit-unified-7d-status': 'allowed',
    'anthropic-ratelimit-unified-7d-utilization': String(opts.sevenDayUtilization ?? 0.17),
    'anthropic-ratelimit-unified-7d-reset': String(sevenDayReset()),
  });

  const sendError = (
    res: http.ServerResponse,
    status: number,
    type: string,
    message: string,
    headers: Record<string, string> = {},
  ) => {
    const requestId = id('req');
    res.writeHead(status, {
      'content-type': 'application/json',
      'request-id': requestId,
      ...headers,
    });
    res.end(JSON.stringify({ type: 'error', error: { type, message }, request_id: requestId }));
  };

  async function streamMessage(
    res: http.ServerResponse,
    model: string,
    blocks: Block[],
    stopReason: string,
  ): Promise<void> {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'request-id': id('req'),
      ...unifiedAllowed(),
    });
    const send = async (event: string, data: Json) => {
      res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
      if (delay > 0) await sleep(delay);
    };
    await send('message_start', {
      message: {
        id: id('msg'),
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usage, output_tokens: 1 },
      },
    });
    await send('ping', {});
    for (const [index, block] of blocks.entries()) {
      if (block.type === 'text') {
        await send('content_block_start', { index, content_block: { type: 'text', text: '' } });
        // Two deltas, as a real stream has several.
        const cut = Math.ceil(block.text.length / 2);
        for (const part of [block.text.slice(0, cut), block.text.slice(cut)])
          if (part)
            await send('content_block_delta', { index, delta: { type: 'text_delta', text: part } });
      } else {
        await send('content_block_start', {
          index,
          content_block: {
            type: 'tool_use',
            id: block.id ?? id('toolu'),
            name: block.name,
            input: {},
          },
        });
        const json = JSON.stringify(block.input);
        await send('content_block_delta', {
          index,
          delta: { type: 'input_json_delta', partial_json: '' },
        });
        await send('content_block_delta', {
          index,
          delta: { type: 'input_json_delta', partial_json: json },
        });
      }
      await send('content_block_stop', { index });
    }
    await send('message_delta', {
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { output_tokens: usage.output_tokens },
    });
    await send('message_stop', {});
    res.end();
  }

  function jsonMessage(res: http.ServerResponse, model: string, text: string): void {
    res.writeHead(200, { 'content-type': 'application/json', ...unifiedAllowed() });
    res.end(
      JSON.stringify({
        id: id('msg'),
        type: 'message',
        role: 'assistant',
        model,
        content: [{ type: 'text', text }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage,
      }),
    );
  }

  async function messages(
    res: http.ServerResponse,
    body: Json,
    mode: FakeMode,
    token: string | null,
    request: number,
  ): Promise<number> {
    const model = typeof body.model === 'string' ? body.model : MODEL_FALLBACK;
    if (mode === 'limit') {
      const reset = limitOf(token)?.reset ?? fiveHourReset();
      sendError(
        res,
        429,
        'rate_limit_error',
        "This request would exceed your account's rate limit. Please try again later.",
        {
          'anthropic-ratelimit-unified-status': 'rejected',
          'anthropic-ratelimit-unified-reset': String(reset),
          'anthropic-ratelimit-unified-representative-claim': 'five_hour',
          'anthropic-ratelimit-unified-5h-status': 'rejected',
          'anthropic-ratelimit-unified-5h-utilization': '1.02',
          'anthropic-ratelimit-unified-5h-reset': String(reset),
          'anthropic-ratelimit-unified-7d-status': 'allowed',
          'anthropic-ratelimit-unified-7d-utilization': String(opts.sevenDayUtilization ?? 0.17),
          'anthropic-ratelimit-unified-7d-reset': String(sevenDayReset()),
          'anthropic-ratelimit-unified-fallback': 'available',
          'retry-after': String(Math.max(0, reset - now())),
        },
      );
      return 429;
    }
    if (mode === 'error500-ratelimit') {
      sendError(res, 500, 'api_error', 'Internal server error: upstream rate limit exceeded');
      return 500;
    }
    if (mode === 'overloaded529') {
      sendError(res, 529, 'overloaded_error', 'Overloaded');
      return 529;
    }
    if (mode === 'overloaded529-ratelimit') {
      sendError(res, 529, 'overloaded_error', 'Overloaded: rate limit of the upstream pool hit');
      return 529;
    }
    const user = lastUser(body);
    const toolResult = user ? toolResultText(user.content) : null;
    let blocks: Block[];
    let stop = 'end_turn';
    const bash = (command: string, kind: FakeToolCall['kind'], description: string): Block => {
      const toolId = id('toolu');
      toolCalls.push({ at: new Date().toISOString(), token, id: toolId, command, kind, request });
      return { type: 'tool_use', name: 'Bash', input: { command, description }, id: toolId };
    };
    if (mode === 'mcp-task' && body.stream === true) {
      const tools = Array.isArray(body.tools)
        ? (body.tools as Json[]).map((t) => String(t?.name ?? ''))
        : [];
      const messages = Array.isArray(body.messages) ? (body.messages as Json[]) : [];
      const step = nextMcpStep(messages, tools);
      if (step.kind === 'tool') {
        const toolId = id('toolu');
        toolCalls.push({
          at: new Date().toISOString(),
          token,
          id: toolId,
          command: `${step.name} ${JSON.stringify(step.input)}`,
          kind: 'mcp',
          request,
        });
        blocks = [
          { type: 'text', text: `Calling ${step.name}.` },
          { type: 'tool_use', name: step.name, input: step.input, id: toolId },
        ];
        stop = 'tool_use';
      } else blocks = [{ type: 'text', text: step.text }];
    } else if (mode === 'task' && hasBashTool(body) && body.stream === true) {
      const messages = Array.isArray(body.messages) ? (body.messages as Json[]) : [];
      const step = nextTaskStep(messages, workCommand);
      if (step.kind === 'tool') {
        blocks = [
          { type: 'text', text: step.text },
          bash(step.command, step.step, step.step === 'run' ? 'Mark the task done' : 'Work'),
        ];
        stop = 'tool_use';
      } else blocks = [{ type: 'text', text: step.text }];
    } else if (mode === 'tool' && toolResult === null && hasBashTool(body)) {
      blocks = [{ type: 'text', text: 'Running a command.' }, bash('echo hi', 'echo', 'Say hi')];
      stop = 'tool_use';
    } else if (toolResult !== null) {
      blocks = [{ type: 'text', text: `TOOL RESULT: ${oneLine(toolResult)}` }];
    } else {
      blocks = [{ type: 'text', text: `ECHO: ${oneLine(user ? userText(user.content) : '')}` }];
    }
    if (body.stream === true) await streamMessage(res, model, blocks, stop);
    else jsonMessage(res, model, blocks.map((b) => (b.type === 'text' ? b.text : '')).join(' '));
    return 200;
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let body: unknown = null;
        if (raw) {
          try {
            body = JSON.parse(raw);
          } catch {
            body = raw;
          }
        }
        const auth = req.headers.authorization;
        const token =
          typeof auth === 'string' && /^Bearer /i.test(auth)
            ? auth.slice(7).trim()
            : typeof req.headers['x-api-key'] === 'string'
              ? req.headers['x-api-key']
              : null;
        const url = req.url ?? '/';
        const pathname = url.split('?')[0]!;
        const rec: RecordedRequest = {
          at: new Date().toISOString(),
          method: req.method ?? 'GET',
          url,
          token,
          headers: req.headers,
          body,
          status: 0,
          mode: null,
        };
        requests.push(rec);
        try {
          if (req.method === 'POST' && pathname === '/v1/messages') {
            rec.mode = nextMode(token);
            rec.status = await messages(
              res,
              (body ?? {}) as Json,
              rec.mode,
              token,
              requests.indexOf(rec),
            );
          } else if (req.method === 'POST' && pathname === '/v1/messages/count_tokens') {
            rec.status = 200;
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ input_tokens: usage.input_tokens }));
          } else if (req.method === 'HEAD' || pathname === '/') {
            rec.status = 200;
            res.writeHead(200, { 'content-type': 'text/plain' });
            res.end('ok');
          } else {
            rec.status = 404;
            sendError(res, 404, 'not_found_error', `Not found: ${pathname}`);
          }
        } catch (err) {
          rec.status = 500;
          if (!res.headersSent) sendError(res, 500, 'api_error', (err as Error).message);
          else res.end();
        }
        opts.log?.(
          `fake-api ${rec.method} ${rec.url} token=${token ? token.slice(0, 20) : '-'} -> ${rec.status}${rec.mode ? ` (${rec.mode})` : ''}`,
        );
      })();
    });
  });
  // As an HTTPS proxy (HTTPS_PROXY=<url>), it refuses every tunnel: a test that lets Claude
  // Code's non-essential traffic run keeps it on this machine, and sees where it would go.
  server.on('connect', (req: http.IncomingMessage, socket: import('node:net').Socket) => {
    requests.push({
      at: new Date().toISOString(),
      method: 'CONNECT',
      url: req.url ?? '',
      token: null,
      headers: req.headers,
      body: null,
      status: 403,
      mode: null,
    });
    opts.log?.(`fake-api CONNECT ${req.url} -> 403`);
    socket.on('error', () => undefined);
    socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    setMode(tokenOrDefault, mode) {
      limits.delete(tokenOrDefault);
      if (tokenOrDefault === 'default') defaultMode = mode;
      else modes.set(tokenOrDefault, mode);
    },
    modeFor,
    setEventDelay(ms) {
      delay = ms;
    },
    setUsage(u) {
      Object.assign(usage, u);
    },
    limitUntil(tokenOrDefault, resetEpoch, then) {
      const before =
        limits.get(tokenOrDefault)?.then ??
        (tokenOrDefault === 'default' ? defaultMode : ownMode(tokenOrDefault));
      limits.set(tokenOrDefault, { reset: resetEpoch, then: then ?? before });
    },
    setTaskStepSeconds(seconds) {
      taskStepSeconds = seconds;
    },
    toolCalls,
    ranCommands(token) {
      const back = new Set(
        requests.flatMap((r) => {
          const b = r.body as Json | null;
          const msgs = b && Array.isArray(b.messages) ? (b.messages as Json[]) : [];
          return msgs.flatMap((m) => (m.role === 'user' ? toolResultIds(m.content) : []));
        }),
      );
      return toolCalls.filter((c) => back.has(c.id) && (token === undefined || c.token === token));
    },
    startBurst(tokenOrDefault, burst) {
      bursts.set(tokenOrDefault, {
        until: Date.now() + burst.ms,
        modes: burst.modes ?? ['error500-ratelimit', 'overloaded529-ratelimit'],
        served: 0,
      });
    },
    messageRequests(token) {
      return requests.filter(
        (r) =>
          r.method === 'POST' &&
          r.url.split('?')[0] === '/v1/messages' &&
          (token === undefined || r.token === token),
      );
    },
    close() {
      return new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
