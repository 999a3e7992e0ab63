/**
 * What `quota explain` needs besides the classifier: the optional config (it works without
 * one), `--now` and `--tz` checked with clear errors, and the input from a file or stdin.
 */
import fs from 'node:fs';
import path from 'node:path';
import { findConfigFile, loadConfig } from '../core/config.js';
import { ConfigError, UsageError } from '../core/errors.js';
import { loadLuxon } from './index.js';
import { resolveZoneName, systemZone } from './reset-time.js';
import type { UserPatterns } from './classify.js';

export interface ExplainSettings {
  now: Date;
  /** The zone for clock-only times: --tz, then quota.timezone, then the system zone. */
  timezone: string;
  timezoneSource: '--tz' | 'quota.timezone' | 'system';
  patterns: UserPatterns;
  /** The config file used, or null when there is none. */
  configFile: string | null;
}

const NO_PATTERNS: UserPatterns = { limit: [], warning: [], transient: [], ignore: [] };

/**
 * Reads `quota.timezone` and `quota.patterns` from the config when one is found (an invalid
 * one is an error, as for every command); without a config the built-ins apply.
 */
async function quotaConfig(explicit: string | undefined, cwd: string, env: NodeJS.ProcessEnv) {
  const file = await findConfigFile({ explicit, cwd, env });
  if (!file) return { file: null, timezone: null, patterns: NO_PATTERNS };
  const cfg = await loadConfig({ explicit: file, cwd, env });
  return { file: cfg.file, timezone: cfg.quota.timezone, patterns: cfg.quota.patterns };
}

export async function explainSettings(
  opts: { now?: string; tz?: string; config?: string },
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): Promise<ExplainSettings> {
  const L = await loadLuxon();
  let timezone: string;
  let timezoneSource: ExplainSettings['timezoneSource'];
  if (opts.tz !== undefined) {
    const z = resolveZoneName(L, opts.tz);
    if (!z) {
      throw new UsageError(
        `--tz: unknown time zone ${JSON.stringify(opts.tz)}`,
        'use an IANA name such as Europe/Berlin, America/New_York or UTC',
      );
    }
    timezone = z;
    timezoneSource = '--tz';
  }
  const cfg = await quotaConfig(opts.config, cwd, env);
  if (opts.tz === undefined) {
    if (cfg.timezone !== null) {
      const z = resolveZoneName(L, cfg.timezone);
      if (!z) {
        throw new ConfigError(
          `${cfg.file}: quota.timezone: unknown time zone ${JSON.stringify(cfg.timezone)}`,
        );
      }
      timezone = z;
      timezoneSource = 'quota.timezone';
    } else {
      timezone = systemZone(L);
      timezoneSource = 'system';
    }
  }

  let now = new Date();
  if (opts.now !== undefined) {
    // A time without an offset is read in the zone in effect.
    const dt = L.DateTime.fromISO(opts.now.trim(), { zone: timezone! });
    if (!dt.isValid) {
      throw new UsageError(
        `--now: expected an ISO-8601 time such as 2026-07-04T10:00:00Z, got ${JSON.stringify(opts.now)}`,
      );
    }
    now = dt.toJSDate();
  }
  return {
    now,
    timezone: timezone!,
    timezoneSource: timezoneSource!,
    patterns: cfg.patterns,
    configFile: cfg.file,
  };
}

/** Reads FILE, or stdin for `-` or no FILE. A terminal on stdin is a usage error, not a prompt. */
export async function readExplainInput(
  file: string | undefined,
  stdin: NodeJS.ReadStream = process.stdin,
  cwd: string = process.cwd(),
): Promise<{ text: string; source: string }> {
  if (file !== undefined && file !== '-') {
    const full = path.resolve(cwd, file);
    try {
      return { text: fs.readFileSync(full, 'utf8'), source: file };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new UsageError(`${file}: cannot read the file: ${code}`);
    }
  }
  if (stdin.isTTY) {
    throw new UsageError(
      'quota explain: no input; give a FILE, or pipe the pane text on stdin',
      'for example: tmux capture-pane -p -t ccl-3 | claude-failover quota explain',
    );
  }
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer));
  } catch (err) {
    throw new UsageError(`stdin: cannot read: ${(err as Error).message}`);
  }
  return { text: Buffer.concat(chunks).toString('utf8'), source: 'stdin' };
}
