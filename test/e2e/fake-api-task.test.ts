/**
 * The fake API's `task` mode, which the real-CLI day test relies on: a dispatch prompt gets
 * work steps then exactly its `run:` command; a resume prompt runs that command only when it
 * has not run yet; `limitUntil` answers 429 with its reset, then the mode before. Plain HTTP,
 * no Claude Code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeApi, type FakeApi } from '../helpers/fake-api.js';

type Json = Record<string, unknown>;

const CMD = "'/usr/bin/node' '/repo/bin/claude-failover.js' task done -- t-1";
const DISPATCH = `Read the task in /p/.agent-queue/inbox/t-1.md and carry it out. When it is finished, run: ${CMD}`;
const RESUME =
  'You were moved to another account after a usage limit. Continue the task in /p/.agent-queue/inbox/t-1.md from where you stopped.';
const REMINDER = { type: 'text', text: '<system-reminder>\nsome context\n</system-reminder>' };
const BASH_TOOL = { name: 'Bash', description: 'run', input_schema: { type: 'object' } };

let api: FakeApi;
beforeAll(async () => {
  api = await startFakeApi({ defaultMode: 'task' });
});
afterAll(() => api.close());

/** Sends a conversation, parses the SSE answer into its content blocks. */
async function send(
  messages: Json[],
  token = 'tok-a',
): Promise<{ status: number; headers: Headers; blocks: Json[] }> {
  const res = await fetch(`${api.url}/v1/messages?beta=true`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', stream: true, tools: [BASH_TOOL], messages }),
  });
  const text = await res.text();
  const blocks: Json[] = [];
  for (const chunk of text.split('\n\n')) {
    const data = /^data: (.*)$/m.exec(chunk)?.[1];
    if (!data) continue;
    const ev = JSON.parse(data) as Json;
    if (ev.type === 'content_block_start') blocks.push({ ...(ev.content_block as Json) });
    if (ev.type === 'content_block_delta') {
      const d = ev.delta as Json;
      const b = blocks.at(-1)!;
      if (d.type === 'text_delta') b.text = `${String(b.text ?? '')}${String(d.text)}`;
      if (d.type === 'input_json_delta' && d.partial_json)
        b.input = JSON.parse(d.partial_json as string);
    }
  }
  return { status: res.status, headers: res.headers, blocks };
}

const user = (...content: Json[]): Json => ({ role: 'user', content });
const text = (t: string): Json => ({ type: 'text', text: t });
const result = (id: string, out = 'ok'): Json => ({
  type: 'tool_result',
  tool_use_id: id,
  content: out,
});
const commandOf = (blocks: Json[]) =>
  (blocks.find((b) => b.type === 'tool_use')?.input as Json | undefined)?.command;

/** Plays a turn to its end: answers every tool call with a result. Returns the history. */
async function playTurn(history: Json[], token = 'tok-a'): Promise<Json[]> {
  const msgs = [...history];
  for (let i = 0; i < 10; i++) {
    const { blocks } = await send(msgs, token);
    msgs.push({ role: 'assistant', content: blocks });
    const use = blocks.find((b) => b.type === 'tool_use');
    if (!use) return msgs;
    msgs.push(user(result(use.id as string)));
  }
  throw new Error('the turn never ended');
}

describe('fake API task mode', () => {
  it('a dispatch prompt: two work steps, then exactly the run: command, then a text', async () => {
    const calls = api.toolCalls.length;
    const msgs = await playTurn([user(REMINDER, text(DISPATCH))]);
    const issued = api.toolCalls.slice(calls);
    expect(issued.map((c) => c.kind)).toEqual(['work', 'work', 'run']);
    expect(issued[0]!.command).toBe("echo 'working on t-1 (step 1/2)'");
    expect(issued[2]!.command).toBe(CMD);
    expect(issued.every((c) => c.token === 'tok-a')).toBe(true);
    expect(msgs.at(-1)).toEqual({
      role: 'assistant',
      content: [{ type: 'text', text: 'Task t-1 is finished.' }],
    });
    expect(api.ranCommands('tok-a').map((c) => c.command)).toContain(CMD);
  });

  it('a resume prompt runs the command when the turn stopped before it, once', async () => {
    // The first work step ran, then the account hit its limit: the turn ended there.
    let msgs: Json[] = [user(text(DISPATCH))];
    const first = await send(msgs);
    const id = first.blocks.find((b) => b.type === 'tool_use')!.id as string;
    msgs.push({ role: 'assistant', content: first.blocks });
    // The resume prompt shares the user message with the last tool result.
    msgs.push(user(result(id), REMINDER, text(RESUME)));
    const calls = api.toolCalls.length;
    msgs = await playTurn(msgs);
    expect(api.toolCalls.slice(calls).map((c) => [c.kind, c.command])).toEqual([
      ['work', "echo 'working on t-1 (step 1/1)'"],
      ['run', CMD],
    ]);
    // A second resume prompt (another swap) finds it done: no tool call.
    const again = await send([...msgs, user(text(RESUME))]);
    expect(commandOf(again.blocks)).toBeUndefined();
    expect(again.blocks).toEqual([{ type: 'text', text: 'Task t-1 was already finished.' }]);
  });

  it('a command issued but never answered (the turn was cut) runs again on resume', async () => {
    const msgs: Json[] = [user(text(DISPATCH))];
    for (let i = 0; i < 3; i++) {
      const { blocks } = await send(msgs);
      msgs.push({ role: 'assistant', content: blocks });
      if (i < 2) msgs.push(user(result(blocks.find((b) => b.type === 'tool_use')!.id as string)));
    }
    expect(commandOf(msgs.at(-1)!.content as Json[])).toBe(CMD);
    // No tool_result for the run: command; the resume prompt comes next.
    const r = await send([
      ...msgs,
      user(text('[Request interrupted by user]')),
      user(text(RESUME)),
    ]);
    expect(commandOf(r.blocks)).toBe("echo 'working on t-1 (step 1/1)'");
  });

  it('a prompt without any run: line gets an echo', async () => {
    const r = await send([user(text('hello there'))]);
    expect(r.blocks).toEqual([{ type: 'text', text: 'ECHO: hello there' }]);
  });

  it('limitUntil: 429s carrying the reset, then the mode before', async () => {
    const reset = Math.floor(Date.now() / 1000) + 2;
    api.limitUntil('tok-b', reset);
    const limited = await send([user(text(DISPATCH))], 'tok-b');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('anthropic-ratelimit-unified-status')).toBe('rejected');
    expect(limited.headers.get('anthropic-ratelimit-unified-reset')).toBe(String(reset));
    expect(api.modeFor('tok-b')).toBe('limit');
    await new Promise((r) => setTimeout(r, (reset + 0.2) * 1000 - Date.now()));
    expect(api.modeFor('tok-b')).toBe('task');
    const after = await send([user(text(DISPATCH))], 'tok-b');
    expect(after.status).toBe(200);
    expect(commandOf(after.blocks)).toBe("echo 'working on t-1 (step 1/2)'");
  });
});
