/**
 * `setup`: account config dirs, one shared transcript tree linked into each of them (merged,
 * never deleting), the `activeLink`, the hooks and statusline in each settings.json, and
 * (with `mcp.register`) the MCP server in each `.claude.json`.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../core/config.js';
import { CliError } from '../core/errors.js';
import { ensurePrivateDir, readFileIfExists, writeFileAtomic } from '../core/fs-atomic.js';
import { previousStatuslinePath } from '../claude/hook-handler.js';
import { cliArgv } from '../core/package-root.js';
import { shQuote } from '../core/shell.js';
import { ensureSymlink, linkProjects } from '../accounts/links.js';
import { syncTriggerSettings } from '../core/triggers.js';
import { registerMcpServer } from './mcp-register.js';

const HOOK_EVENTS = ['SessionStart', 'UserPromptSubmit', 'Stop', 'StopFailure'] as const;
/** Every command we install carries this, so uninstall removes only ours. */
const HOOK_MARKER = 'claude-failover';

export interface SetupChange {
  account: string | null;
  what: string;
}

/** The hook command line: absolute node and CLI paths, since Claude Code has its own PATH. */
function hookCommand(args: string[], node?: string, cli?: string): string {
  const [defaultNode, defaultCli] = cliArgv();
  return [node ?? defaultNode, cli ?? defaultCli, ...args].map(shQuote).join(' ');
}

function isOurs(command: unknown): boolean {
  return (
    typeof command === 'string' &&
    command.includes(HOOK_MARKER) &&
    / hook (run|statusline)\b/.test(command)
  );
}

type Settings = Record<string, unknown> & {
  hooks?: Record<string, Array<{ matcher?: string; hooks?: Array<Record<string, unknown>> }>>;
  statusLine?: { type?: string; command?: string } & Record<string, unknown>;
};

function readSettings(file: string): Settings {
  const text = readFileIfExists(file);
  if (text === undefined || !text.trim()) return {};
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Settings;
  } catch {
    // fall through
  }
  throw new CliError(`${file}: not valid JSON; fix or move it, then run setup again`, {
    exitCode: 2,
  });
}

/** Removes our entries from settings (in place). */
function stripOurHooks(settings: Settings, dropEmpty: boolean): void {
  for (const event of Object.keys(settings.hooks ?? {})) {
    const groups = settings.hooks![event]!;
    for (const g of groups) g.hooks = (g.hooks ?? []).filter((h) => !isOurs(h.command));
    settings.hooks![event] = groups.filter((g) => (g.hooks ?? []).length > 0);
    // On a reinstall the emptied keys stay where they were, so the file keeps its order
    // and a second `setup` changes nothing.
    if (dropEmpty && settings.hooks![event]!.length === 0) delete settings.hooks![event];
  }
  if (dropEmpty && settings.hooks && Object.keys(settings.hooks).length === 0)
    delete settings.hooks;
}

/**
 * Installs (or, with `uninstall`, removes) our hooks and statusline in one settings.json,
 * merging with what the user has. The user's own statusline command is kept aside and
 * passed through by `hook statusline`. Writes only when something changed.
 */
function installHooks(
  configDir: string,
  account: string,
  stateDir: string,
  opts: { uninstall?: boolean; skipBypassPrompt?: boolean; node?: string; cli?: string } = {},
): boolean {
  const file = path.join(configDir, 'settings.json');
  const before = readFileIfExists(file);
  const settings = readSettings(file);
  const prevFile = previousStatuslinePath(stateDir, account);
  stripOurHooks(settings, Boolean(opts.uninstall));
  const ourStatus = isOurs(settings.statusLine?.command);
  if (opts.uninstall) {
    if (ourStatus) {
      const prev = readFileIfExists(prevFile);
      const kept = prev
        ? (JSON.parse(prev) as { statusLine?: Settings['statusLine'] }).statusLine
        : undefined;
      if (kept) settings.statusLine = kept;
      else delete settings.statusLine;
    }
  } else {
    settings.hooks ??= {};
    for (const event of HOOK_EVENTS) {
      (settings.hooks[event] ??= []).push({
        matcher: '',
        hooks: [
          {
            type: 'command',
            command: hookCommand(['hook', 'run', event], opts.node, opts.cli),
            timeout: 10,
          },
        ],
      });
    }
    if (settings.statusLine && !ourStatus) {
      // Keep the user's statusline; ours runs it and prints its output.
      ensurePrivateDir(path.dirname(prevFile));
      writeFileAtomic(
        prevFile,
        JSON.stringify({
          command: settings.statusLine.command ?? null,
          statusLine: settings.statusLine,
        }),
      );
    }
    settings.statusLine = {
      type: 'command',
      command: hookCommand(['hook', 'statusline'], opts.node, opts.cli),
      padding: 0,
    };
    if (opts.skipBypassPrompt) settings.skipDangerousModePermissionPrompt = true;
  }
  const after = `${JSON.stringify(settings, null, 2)}\n`;
  if (after === before) return false;
  if (before !== undefined && before.trim()) {
    // Keep the user's file as it was before our first change to it.
    const bak = `${file}.pre-claude-failover`;
    if (!fs.existsSync(bak)) fs.writeFileSync(bak, before, { mode: 0o600 });
  }
  fs.mkdirSync(configDir, { recursive: true, mode: 0o700 });
  writeFileAtomic(file, after, { mode: 0o600 });
  return true;
}

/**
 * The MCP server in each account's `.claude.json`: registered when `mcp.register` is true,
 * otherwise (and on either uninstall) our entry is taken out; the user's servers stay.
 */
function setupMcp(cfg: Config, remove: boolean, asked: boolean): SetupChange[] {
  const changes: SetupChange[] = [];
  for (const acct of cfg.accounts) {
    if (remove && !fs.existsSync(acct.configDir)) continue;
    let what: string | null;
    try {
      what = registerMcpServer(acct.configDir, { remove });
    } catch (err) {
      // With mcp.register off, an unreadable .claude.json (Claude Code's own file) is not
      // this setup's business; asked to add or remove the server, it is.
      if (asked) throw err;
      continue;
    }
    if (what) changes.push({ account: acct.name, what });
  }
  return changes;
}

/** Runs the whole setup; returns what changed (empty on a second run). */
export function runSetup(
  cfg: Config,
  activeAccount: string,
  opts: { uninstallHooks?: boolean; uninstallMcp?: boolean; now?: Date } = {},
): SetupChange[] {
  if (opts.uninstallMcp && !opts.uninstallHooks) return setupMcp(cfg, true, true);
  const now = opts.now ?? new Date();
  const changes: SetupChange[] = [];
  if (!opts.uninstallHooks) {
    if (!fs.existsSync(cfg.sharedProjectsDir)) {
      fs.mkdirSync(cfg.sharedProjectsDir, { recursive: true, mode: 0o700 });
      changes.push({ account: null, what: `created ${cfg.sharedProjectsDir}` });
    }
  }
  for (const acct of cfg.accounts) {
    if (!opts.uninstallHooks) {
      if (!fs.existsSync(acct.configDir)) {
        fs.mkdirSync(acct.configDir, { recursive: true, mode: 0o700 });
        changes.push({ account: acct.name, what: `created ${acct.configDir}` });
      }
      for (const what of linkProjects(acct.configDir, cfg.sharedProjectsDir, now))
        changes.push({ account: acct.name, what });
    }
    const skipBypassPrompt = cfg.agent.args.includes('--dangerously-skip-permissions');
    if (
      installHooks(acct.configDir, acct.name, cfg.stateDir, {
        uninstall: opts.uninstallHooks,
        skipBypassPrompt,
      })
    ) {
      changes.push({
        account: acct.name,
        what: `${opts.uninstallHooks ? 'removed hooks from' : 'installed hooks in'} ${path.join(acct.configDir, 'settings.json')}`,
      });
    }
  }
  // What the installed hooks read to start steps at once (README: Triggers).
  if (!opts.uninstallHooks) syncTriggerSettings(cfg);
  if (!opts.uninstallHooks && cfg.activeLink) {
    const target = cfg.accounts.find((a) => a.name === activeAccount)?.configDir;
    if (target && ensureSymlink(cfg.activeLink, target)) {
      changes.push({ account: activeAccount, what: `linked ${cfg.activeLink} -> ${target}` });
    }
  }
  const removeMcp = Boolean(opts.uninstallHooks) || !cfg.mcp.register;
  changes.push(...setupMcp(cfg, removeMcp, cfg.mcp.register || Boolean(opts.uninstallMcp)));
  return changes;
}
