/** An MCP client from the official SDK, talking to the built CLI's `mcp` server over stdio. */
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll } from 'vitest';
import { BIN } from './env.js';

const clients: Client[] = [];
afterAll(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => undefined);
});

export interface ToolCall {
  isError: boolean;
  text: string;
  data: Record<string, unknown>;
}

export interface McpSession {
  client: Client;
  tools(): Promise<string[]>;
  call(name: string, args?: Record<string, unknown>): Promise<ToolCall>;
  close(): Promise<void>;
}

/** Starts `claude-failover -c CONFIG mcp [args]` with `env` (HOME etc.) and connects. */
export async function connectMcp(
  configFile: string,
  args: string[],
  env: Record<string, string>,
): Promise<McpSession> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, '-c', configFile, 'mcp', ...args],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', TZ: 'UTC', CI: '1', ...env },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'claude-failover-test', version: '1.0.0' });
  await client.connect(transport);
  clients.push(client);
  return {
    client,
    tools: async () => (await client.listTools()).tools.map((t) => t.name),
    async call(name, args = {}) {
      const r = await client.callTool({ name, arguments: args });
      const content = (r.content ?? []) as Array<{ type: string; text?: string }>;
      return {
        isError: Boolean(r.isError),
        text: content.map((c) => c.text ?? '').join('\n'),
        data: (r.structuredContent ?? {}) as Record<string, unknown>,
      };
    },
    close: () => client.close(),
  };
}
