/** The hooks and the `statusLine` command of `$CLAUDE_CONFIG_DIR/settings.json`. */
import fs from 'node:fs';
import path from 'node:path';
import { runShellCommand } from '../lib/core/shell.js';
import { configDir, cwd, env, readSim, VERSION } from './env.js';
import { conversation } from './transcript.js';

interface Settings {
  hooks?: Record<
    string,
    Array<{ hooks?: Array<{ type?: string; command?: string; timeout?: number }> }>
  >;
  statusLine?: { command?: string };
}

function settings(): Settings {
  try {
    return JSON.parse(fs.readFileSync(path.join(configDir, 'settings.json'), 'utf8')) as Settings;
  } catch {
    return {};
  }
}

function runShell(command: string, stdin: string, timeoutMs: number): Promise<string> {
  return runShellCommand(command, stdin, {
    cwd,
    env: { ...env, CLAUDE_PROJECT_DIR: cwd, CLAUDECODE: '1' },
    timeoutMs,
  });
}

export async function fireHook(event: string, fields: Record<string, unknown> = {}): Promise<void> {
  if (env.SIM_HOOKS === '0') return;
  const groups = settings().hooks?.[event] ?? [];
  const payload = JSON.stringify({
    session_id: conversation.id,
    transcript_path: conversation.file,
    cwd,
    hook_event_name: event,
    ...fields,
  });
  const runs: Promise<string>[] = [];
  for (const g of groups)
    for (const h of g.hooks ?? [])
      if (h.type === 'command' && h.command)
        runs.push(runShell(h.command, payload, (h.timeout ?? 60) * 1000));
  await Promise.all(runs);
}

export async function refreshStatusline(): Promise<void> {
  const command = settings().statusLine?.command;
  if (!command || env.SIM_HOOKS === '0') return;
  let rateLimits: unknown;
  try {
    rateLimits = JSON.parse(readSim('usage.json') ?? 'null');
  } catch {
    rateLimits = undefined;
  }
  const payload = JSON.stringify({
    session_id: conversation.id,
    transcript_path: conversation.file,
    cwd,
    model: { id: 'claude-sim', display_name: 'Sim' },
    version: VERSION,
    ...(rateLimits ? { rate_limits: rateLimits } : {}),
  });
  await runShell(command, payload, 5000);
}
