/**
 * `setup`: account config dirs, one shared transcript tree linked into each of them (merged,
 * never deleting), the `activeLink`, and the hooks and statusline in each settings.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../core/config.js';
import { CliError } from '../core/errors.js';
import { ensurePrivateDir, readFileIfExists, writeFileAtomic } from '../core/fs-atomic.js';
import { previousStatuslinePath } from '../claude/hook-handler.js';
import { packageFile } from '../core/package-root.js';

export const HOOK_EVENTS = ['SessionStart', 'UserPromptSubmit', 'Stop', 'StopFailure'] as const;
/** Every command we install carries this, so uninstall removes only ours. */
export const HOOK_MARKER = 'claude-failover';

export interface SetupChange {
  account: string | null;
  what: string;
}

const stamp = (now: Date) => now.toISOString().replace(/[:.]/g, '-');

/** Single-quotes a word for /bin/sh (Claude Code runs hook commands through a shell). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./=:@+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The hook command line: absolute node and CLI paths, since Claude Code has its own PATH. */
export function hookCommand(
  args: string[],
  node = process.execPath,
  cli = packageFile('bin', 'claude-failover.js'),
): string {
  return [node, cli, ...args].map(shellQuote).join(' ');
}

function isOurs(command: unknown): boolean {
  return (
    typeof command === 'string' &&
    command.includes(HOOK_MARKER) &&
    / hook (run|statusline)\b/.test(command)
  );
}

/**
 * Moves what `from` holds into `to`, file by file. A file whose name is free in `to` is
 * moved; on a clash both copies are kept (the incoming one stays where it was). Empty
 * directories left behind are removed. Returns the clashes.
 */
export function mergeTree(from: string, to: string): string[] {
  const clashes: string[] = [];
  const walk = (rel: string) => {
    const src = path.join(from, rel);
    for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
      const r = path.join(rel, entry.name);
      const s = path.join(from, r);
      const d = path.join(to, r);
      if (entry.isDirectory()) {
        if (fs.existsSync(d) && !fs.lstatSync(d).isDirectory()) {
          clashes.push(r);
          continue;
        }
        fs.mkdirSync(d, { recursive: true });
        walk(r);
        try {
          fs.rmdirSync(s); // only succeeds when it is empty
        } catch {
          // something stayed behind (a clash): keep it
        }
      } else if (fs.existsSync(d) || isBrokenLink(d)) {
        clashes.push(r);
      } else {
        fs.renameSync(s, d);
      }
    }
  };
  walk('');
  return clashes;
}

function isBrokenLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Points `link` at `target`, atomically replacing an old symlink. Refuses a real file or dir. */
export function ensureSymlink(link: string, target: string): boolean {
  let st: fs.Stats | null = null;
  try {
    st = fs.lstatSync(link);
  } catch {
    st = null;
  }
  if (st && !st.isSymbolicLink()) {
    throw new CliError(
      `${link} exists and is not a symlink; move it away first, then run setup again`,
      { exitCode: 1 },
    );
  }
  if (st && path.resolve(path.dirname(link), fs.readlinkSync(link)) === target) return false;
  fs.mkdirSync(path.dirname(link), { recursive: true });
  const tmp = `${link}.tmp-${process.pid}`;
  fs.rmSync(tmp, { force: true });
  fs.symlinkSync(target, tmp);
  fs.renameSync(tmp, link);
  return true;
}

/** Links `<configDir>/projects` to the shared tree, merging an existing directory into it. */
export function linkProjects(configDir: string, shared: string, now: Date): SetupChange['what'][] {
  const link = path.join(configDir, 'projects');
  const changes: string[] = [];
  let st: fs.Stats | null = null;
  try {
    st = fs.lstatSync(link);
  } catch {
    st = null;
  }
  if (st?.isSymbolicLink()) {
    const current = path.resolve(configDir, fs.readlinkSync(link));
    if (current === shared) return changes;
    // Linked elsewhere: merge that tree's files in, keep the old tree, relink.
    if (fs.existsSync(current) && fs.statSync(current).isDirectory()) {
      const clashes = mergeTree(current, shared);
      changes.push(
        `merged ${current} into ${shared}${clashes.length ? ` (${clashes.length} clashes kept in ${current})` : ''}`,
      );
    }
  } else if (st?.isDirectory()) {
    // Move the directory aside first (atomic), then merge its files into the shared tree.
    const aside = `${link}.pre-setup-${stamp(now)}`;
    fs.renameSync(link, aside);
    const clashes = mergeTree(aside, shared);
    let kept = false;
    try {
      fs.rmdirSync(aside);
    } catch {
      kept = true;
    }
    changes.push(
      `merged ${link} into ${shared}` +
        (kept ? ` (${clashes.length} clashing files kept in ${aside})` : ''),
    );
  } else if (st) {
    throw new CliError(`${link} is a file; move it away first, then run setup again`, {
      exitCode: 1,
    });
  }
  ensureSymlink(link, shared);
  changes.push(`linked ${link} -> ${shared}`);
  return changes;
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
export function installHooks(
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

/** Runs the whole setup; returns what changed (empty on a second run). */
export function runSetup(
  cfg: Config,
  activeAccount: string,
  opts: { uninstallHooks?: boolean; now?: Date } = {},
): SetupChange[] {
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
  if (!opts.uninstallHooks && cfg.activeLink) {
    const target = cfg.accounts.find((a) => a.name === activeAccount)?.configDir;
    if (target && ensureSymlink(cfg.activeLink, target)) {
      changes.push({ account: activeAccount, what: `linked ${cfg.activeLink} -> ${target}` });
    }
  }
  return changes;
}
