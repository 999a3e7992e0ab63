/**
 * The MCP server with the real Claude Code CLI: `setup` registers it in the account's
 * `.claude.json` (`mcp.register`), `dispatch.prompt` asks for the `task_done` tool instead of
 * a command line, and when the fake API answers with a `tool_use` of
 * `mcp__claude-failover__task_done`, Claude Code starts our server (inheriting the session's
 * environment), calls the tool without a permission prompt (`--dangerously-skip-permissions`),
 * and the task is done exactly once, by its own session.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEvents } from '../../src/lib/core/events.js';
import { MCP_TASK_DONE } from '../helpers/fake-api.js';
import {
  CLAUDE_VERSION,
  closeRealSandboxes,
  createRealSandbox,
  paneText,
  waitFor,
  waitForPrompt,
  type RealSandbox,
} from '../helpers/real-claude.js';

type Json = Record<string, unknown>;
const SESSION = 'rm-1';
let sb: RealSandbox;

beforeAll(async () => {
  sb = await createRealSandbox({
    accounts: ['primary'],
    sessions: [SESSION],
    apiOptions: { defaultMode: 'mcp-task' },
    extraYaml: `mcp: { register: true, allowWrite: true }
dispatch:
  settle: 0s
  prompt: "Read the task in {taskPath} and carry it out. When it is finished, call the ${MCP_TASK_DONE} tool with id: {taskId}"
`,
  });
  const setup = await sb.cli(['setup']);
  expect(setup.exitCode, setup.stderr).toBe(0);
  expect(setup.stdout).toMatch(/primary: registered the MCP server in/);
});

afterAll(async () => {
  await closeRealSandboxes();
});

describe(`the MCP server with the real Claude Code CLI ${CLAUDE_VERSION}`, () => {
  it(
    'a dispatched task is finished through mcp__claude-failover__task_done, once',
    { timeout: 180_000 },
    async () => {
      const claudeJson = JSON.parse(
        fs.readFileSync(path.join(sb.accounts[0]!.configDir, '.claude.json'), 'utf8'),
      );
      expect(claudeJson.hasCompletedOnboarding).toBe(true);
      expect(claudeJson.mcpServers['claude-failover']).toMatchObject({
        type: 'stdio',
        command: process.execPath,
      });

      const start = await sb.cli(['session', 'start']);
      expect(start.exitCode, start.stderr).toBe(0);
      await waitForPrompt(sb.tmux, SESSION);
      const taskFile = path.join(sb.home, 't-mcp.md');
      fs.writeFileSync(taskFile, 'Say hello, then mark this task done.\n');
      const add = await sb.cli(['task', 'add', 'app', taskFile, '--id', 't-mcp']);
      expect(add.exitCode, add.stderr).toBe(0);

      const dispatch = await sb.cli(['dispatch', '--json']);
      expect(dispatch.exitCode, dispatch.stderr).toBe(0);
      expect(JSON.parse(dispatch.stdout).assignments).toEqual([
        expect.objectContaining({ session: SESSION, task: 't-mcp' }),
      ]);

      const done = path.join(sb.project, '.agent-queue', 'done');
      const toolAnswered = () =>
        sb.api.ranCommands().some((c) => c.command.startsWith(MCP_TASK_DONE));
      try {
        await waitFor(
          () => fs.existsSync(path.join(done, 't-mcp.md')) && toolAnswered(),
          't-mcp in done/ and the tool result back at the API',
          90_000,
        );
      } catch (err) {
        throw new Error(
          `${(err as Error).message}\n--- pane ---\n${await paneText(sb.tmux, SESSION)}`,
        );
      }

      // The fake loaded the deferred tool with ToolSearch, then called it once; its result came
      // back with our server's answer: done, by the session that runs the server.
      const calls = sb.api.toolCalls.filter((c) => c.kind === 'mcp').map((c) => c.command);
      expect(calls).toEqual([
        `ToolSearch {"query":"select:${MCP_TASK_DONE}","max_results":1}`,
        `${MCP_TASK_DONE} {"id":"t-mcp"}`,
      ]);
      const call = sb.api.toolCalls.find((c) => c.command.startsWith(MCP_TASK_DONE))!;
      expect(sb.api.ranCommands().map((c) => c.id)).toContain(call.id);
      const result = sb.api
        .messageRequests()
        .flatMap((r) => ((r.body as Json).messages ?? []) as Json[])
        .flatMap((m) => (Array.isArray(m.content) ? (m.content as Json[]) : []))
        .find((b) => b.type === 'tool_result' && b.tool_use_id === call.id);
      const content = result?.content;
      const text =
        typeof content === 'string'
          ? content
          : ((content ?? []) as Json[]).map((b) => String(b.text ?? '')).join('');
      expect(JSON.parse(text)).toMatchObject({ task: 't-mcp', action: 'done', session: SESSION });

      // Done exactly once: one file, one event, by the session it was handed to.
      await waitForPrompt(sb.tmux, SESSION);
      expect(fs.readdirSync(done)).toEqual(['t-mcp.md']);
      const doneEvents = readEvents(sb.stateDir).filter((e) => e.event === 'task.done');
      expect(doneEvents).toEqual([expect.objectContaining({ task: 't-mcp', session: SESSION })]);
      // The server Claude Code started knew its session from the environment it inherited.
      expect(readEvents(sb.stateDir).filter((e) => e.event === 'mcp.called')).toEqual([
        expect.objectContaining({ tool: 'task_done', session: SESSION, error: null }),
      ]);
      const inbox = path.join(sb.project, '.agent-queue', 'inbox');
      expect(fs.readdirSync(inbox)).toEqual([]);
      expect(fs.existsSync(path.join(sb.project, '.agent-queue', 'failed'))).toBe(false);
    },
  );
});
