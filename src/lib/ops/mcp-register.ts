/**
 * The MCP server in each account's user-scope MCP servers: the top-level `mcpServers` of
 * `<configDir>/.claude.json`, where `claude mcp add -s user` puts a server when
 * CLAUDE_CONFIG_DIR is set. Every agent on the account then has the tools as
 * `mcp__claude-failover__<tool>`. The entry runs this install's CLI by absolute path (node
 * and the script), so it works whatever PATH the agent has; the agent's environment carries
 * the session name and the config file. Only our entry is ever added or removed.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import { readFileIfExists, writeFileAtomic } from '../core/fs-atomic.js';
import { cliArgv } from '../core/package-root.js';

/** The key of our entry; Claude Code names the tools after it (`mcp__claude-failover__…`). */
export const MCP_ENTRY = 'claude-failover';

type ServerEntry = { type?: string; command?: string; args?: unknown } & Record<string, unknown>;
type ClaudeJson = Record<string, unknown> & { mcpServers?: Record<string, ServerEntry> };

/** The entry this install writes. */
export function mcpEntry(node?: string, cli?: string): ServerEntry {
  const [defaultNode, defaultCli] = cliArgv();
  return { type: 'stdio', command: node ?? defaultNode, args: [cli ?? defaultCli, 'mcp'], env: {} };
}

/** Ours: a stdio server whose args run a claude-failover script's `mcp` command. */
function isOurs(entry: ServerEntry | undefined): boolean {
  const args = Array.isArray(entry?.args) ? (entry.args as unknown[]) : [];
  return args.includes('mcp') && args.some((a) => typeof a === 'string' && a.includes(MCP_ENTRY));
}

function readClaudeJson(file: string): { text: string | undefined; data: ClaudeJson } {
  const text = readFileIfExists(file);
  if (text === undefined || !text.trim()) return { text, data: {} };
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const data = v as ClaudeJson;
      const servers = data.mcpServers;
      if (
        servers === undefined ||
        (servers && typeof servers === 'object' && !Array.isArray(servers))
      )
        return { text, data };
      throw new ConfigError(`${file}: mcpServers: expected an object`);
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
  }
  throw new ConfigError(`${file}: not valid JSON; fix or move it, then run setup again`);
}

/**
 * Adds our server to `<configDir>/.claude.json` (or, with `remove`, takes only ours out),
 * keeping every other key and server. Returns what changed, or null when nothing did. The
 * file is written atomically, private, and only when its content changes; the user's file
 * as it was before our first change is kept as `.claude.json.pre-claude-failover`.
 */
export function registerMcpServer(
  configDir: string,
  opts: { remove?: boolean; node?: string; cli?: string } = {},
): string | null {
  const file = path.join(configDir, '.claude.json');
  const { text, data } = readClaudeJson(file);
  const servers = data.mcpServers ?? {};
  const current = servers[MCP_ENTRY];
  if (opts.remove) {
    if (!current || !isOurs(current)) return null;
    delete servers[MCP_ENTRY];
    data.mcpServers = servers;
  } else {
    const want = mcpEntry(opts.node, opts.cli);
    if (current && JSON.stringify(current) === JSON.stringify(want)) return null;
    if (current && !isOurs(current))
      throw new ConfigError(
        `${file}: mcpServers.${MCP_ENTRY} is a server of your own; rename it, then run setup again`,
      );
    data.mcpServers = { ...servers, [MCP_ENTRY]: want };
  }
  const after = `${JSON.stringify(data, null, 2)}\n`;
  if (text !== undefined && text.trim()) {
    const bak = `${file}.pre-claude-failover`;
    if (!fs.existsSync(bak)) fs.writeFileSync(bak, text, { mode: 0o600 });
  }
  fs.mkdirSync(configDir, { recursive: true, mode: 0o700 });
  writeFileAtomic(file, after, { mode: 0o600 });
  return `${opts.remove ? 'removed the MCP server from' : 'registered the MCP server in'} ${file}`;
}

/**
 * `doctor`'s lines for the registration, when `mcp.register` is on: per enabled account
 * whose dir exists, whether its `.claude.json` runs this install's server.
 */
export function mcpRegistrationChecks(config: Config): Array<[string, 'ok' | 'warn', string]> {
  if (!config.mcp.register) return [];
  const want = JSON.stringify(mcpEntry());
  const out: Array<[string, 'ok' | 'warn', string]> = [];
  for (const acct of config.accounts) {
    if (!acct.enabled || !fs.existsSync(acct.configDir)) continue;
    const label = `account ${acct.name} mcp`;
    const file = path.join(acct.configDir, '.claude.json');
    let entry: ServerEntry | undefined;
    try {
      entry = readClaudeJson(file).data.mcpServers?.[MCP_ENTRY];
    } catch (err) {
      out.push([label, 'warn', (err as Error).message]);
      continue;
    }
    if (!entry) out.push([label, 'warn', `not registered in ${file}; run 'claude-failover setup'`]);
    else if (JSON.stringify(entry) !== want)
      out.push([
        label,
        'warn',
        `${file} runs another command (${[entry.command, ...((entry.args as unknown[]) ?? [])].join(' ')}); run 'claude-failover setup'`,
      ]);
    else out.push([label, 'ok', file]);
  }
  return out;
}
