import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { findConfigFile, loadConfig } from '../../src/lib/core/config.js';
import { parseConfig } from '../../src/lib/core/config-parse.js';
import { rawConfigSchema } from '../../src/lib/core/config-schema.js';
import { ConfigError } from '../../src/lib/core/errors.js';
import { expandEnv, expandRanges } from '../../src/lib/core/expand.js';
import { parseDuration, parseSize } from '../../src/lib/core/units.js';
import { ROOT, tempDir, writeConfig } from '../helpers/env.js';

const base = {
  accounts: [
    { name: 'primary', configDir: '/a/primary', priority: 1 },
    { name: 'backup', configDir: '/a/backup', priority: 2 },
  ],
  projects: [{ name: 'api', path: '/src/api' }],
  sessions: [{ name: 'ccl-{0..9}', project: 'api' }],
};

function configError(raw: unknown, env: NodeJS.ProcessEnv = {}): string {
  try {
    parseConfig(raw, '/etc/cf/config.yaml', { env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(2);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('units', () => {
  it('parses durations', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration(15)).toBe(15_000);
    expect(parseDuration('soon')).toBeUndefined();
    expect(parseDuration('5x')).toBeUndefined();
    expect(parseDuration('1h junk')).toBeUndefined();
  });

  it('parses sizes', () => {
    expect(parseSize('10MB')).toBe(10 * 1024 * 1024);
    expect(parseSize('512k')).toBe(512 * 1024);
    expect(parseSize('1GiB')).toBe(1024 ** 3);
    expect(parseSize(100)).toBe(100);
    expect(parseSize('ten')).toBeUndefined();
    expect(parseSize('5XB')).toBeUndefined();
  });
});

describe('expansion', () => {
  it('expands ranges', () => {
    expect(expandRanges('ccl-{0..3}')).toEqual(['ccl-0', 'ccl-1', 'ccl-2', 'ccl-3']);
    expect(expandRanges('ccl-auto-{11..13}')).toEqual([
      'ccl-auto-11',
      'ccl-auto-12',
      'ccl-auto-13',
    ]);
    expect(expandRanges('w{01..03}')).toEqual(['w01', 'w02', 'w03']);
    expect(expandRanges('d{3..1}')).toEqual(['d3', 'd2', 'd1']);
    expect(expandRanges('g{0..1}-{0..1}')).toEqual(['g0-0', 'g0-1', 'g1-0', 'g1-1']);
    expect(expandRanges('plain')).toEqual(['plain']);
    expect(() => expandRanges('x{0..100000}')).toThrow(/expands to/);
  });

  it('expands ${ENV} with defaults and reports missing names', () => {
    const missing: string[] = [];
    expect(expandEnv('a ${X} b ${Y:-dflt} $$ ${NOPE}', { X: 'xv' }, (n) => missing.push(n))).toBe(
      'a xv b dflt $ ',
    );
    expect(missing).toEqual(['NOPE']);
  });
});

describe('parseConfig', () => {
  it('applies every default of README: Configuration', () => {
    const cfg = parseConfig(base, '/etc/cf/config.yaml', { env: { HOME: '/home/u' } });
    expect(cfg.sessions.map((s) => s.name)).toEqual(
      Array.from({ length: 10 }, (_, i) => `ccl-${i}`),
    );
    expect(cfg.sessions[0]).toEqual({ name: 'ccl-0', project: 'api', projectPath: '/src/api' });
    expect(cfg.agent).toMatchObject({
      command: 'claude',
      args: ['--dangerously-skip-permissions'],
      readyTimeout: 30_000,
      stopTimeout: 15_000,
      launchStagger: 1000,
    });
    expect(cfg.quota).toMatchObject({
      scanLines: 40,
      confirmPolls: 2,
      reactivateCooldown: 300_000,
      defaultExhaustion: 5 * 3_600_000,
      skipIfResetWithin: 600_000,
      timezone: null,
      drainAt: 90,
      swapAt: 98,
    });
    expect(cfg.quota.usageApi).toEqual({
      enabled: false,
      baseUrl: 'https://api.anthropic.com',
      cacheFor: 300_000,
    });
    expect(cfg.dispatch.settle).toBe(2000);
    expect(cfg.dispatch.maxAttempts).toBe(3);
    expect(cfg.checkpoint).toEqual({ interval: 300_000, keep: 20, maxAge: 7 * 86_400_000 });
    expect(cfg.janitor.eventsMaxBytes).toBe(10 * 1024 * 1024);
    expect(cfg.watch).toEqual({
      restart: true,
      maxRestarts: 5,
      restartWindow: 3_600_000,
      stuckAfter: 1_800_000,
      resumePrompt: expect.stringContaining('{taskPath}'),
    });
    expect(cfg.swap).toEqual({
      resumePrompt: expect.stringContaining('{taskPath}'),
      historyMax: 50,
      launchStagger: 50,
    });
    expect(cfg.lock).toEqual({ waitFor: 10_000, staleAfter: 30_000 });
    expect(cfg.triggers).toEqual({ enabled: true, limit: true, idle: true });
    expect(cfg.notify.events).toContain('swap.completed');
    expect(cfg.tmux.socket).toBeNull();
    expect(cfg.accounts[1]!.enabled).toBe(true);
  });

  it('expands ~ and ${ENV} in paths and strings, and resolves relative paths from the file', () => {
    const home = '/home/op';
    const cfg = parseConfig(
      {
        ...base,
        stateDir: '~/state',
        sharedProjectsDir: 'shared',
        agent: { env: { TOKEN_NAME: '${MY_VAR}' } },
        accounts: [{ name: 'primary', configDir: '${ACCT_ROOT}/p' }],
      },
      '/etc/cf/config.yaml',
      { env: { HOME: home, MY_VAR: 'value', ACCT_ROOT: '/accts' } },
    );
    expect(cfg.stateDir).toBe(path.join(process.env.HOME ?? home, 'state'));
    expect(cfg.sharedProjectsDir).toBe('/etc/cf/shared');
    expect(cfg.agent.env).toEqual({ TOKEN_NAME: 'value' });
    expect(cfg.accounts[0]!.configDir).toBe('/accts/p');
  });

  it('names the file and the key path in errors', () => {
    expect(
      configError({ ...base, accounts: [base.accounts[0], { name: 'b', configDir: 5 }] }),
    ).toBe('/etc/cf/config.yaml: accounts[1].configDir: expected string, received number');
    expect(configError({ ...base, quota: { scanLines: 'many' } })).toMatch(
      /^\/etc\/cf\/config.yaml: quota.scanLines: expected /,
    );
    expect(configError({ ...base, lock: { waitFor: 'soon' } })).toContain(
      'lock.waitFor: expected a duration',
    );
    expect(configError({ ...base, janitor: { eventsMaxBytes: 'lots' } })).toContain(
      'janitor.eventsMaxBytes: expected a size',
    );
    expect(configError({ ...base, quota: { scanLnes: 3 } })).toContain(
      "quota: unknown key 'scanLnes'",
    );
    expect(configError({ ...base, accounts: [] })).toContain(
      'accounts: expected at least one account',
    );
    expect(configError({ projects: [] })).toContain('accounts: required');
    expect(configError({ ...base, quota: { patterns: { limit: ['(unclosed'] } } })).toContain(
      'quota.patterns.limit[0]: invalid regular expression',
    );
  });

  it('rejects duplicate accounts, duplicate sessions and unknown projects', () => {
    expect(
      configError({ ...base, accounts: [base.accounts[0], { name: 'primary', configDir: '/x' }] }),
    ).toContain("accounts[1].name: duplicate account name 'primary'");
    expect(
      configError({
        ...base,
        sessions: [
          { name: 'ccl-{0..3}', project: 'api' },
          { name: 'ccl-2', project: 'api' },
        ],
      }),
    ).toContain("sessions[1].name: duplicate session name 'ccl-2'");
    expect(configError({ ...base, sessions: [{ name: 'w', project: 'web' }] })).toContain(
      "sessions[0].project: unknown project 'web' (known: api)",
    );
    expect(configError({ ...base, sessions: [{ name: 'a:b', project: 'api' }] })).toContain(
      'sessions[0].name',
    );
    expect(configError({ ...base, quota: { drainAt: 99, swapAt: 95 } })).toContain('quota.drainAt');
  });

  it('reports YAML syntax errors and duplicate keys with the file name', async () => {
    const dir = tempDir();
    const bad = writeConfig(dir, 'accounts: [\n', 'bad.yaml');
    await expect(loadConfig({ explicit: bad, cwd: dir })).rejects.toThrow(
      /bad.yaml: not valid YAML/,
    );
    const dup = writeConfig(dir, 'stateDir: /a\nstateDir: /b\naccounts: []\n', 'dup.yaml');
    await expect(loadConfig({ explicit: dup, cwd: dir })).rejects.toThrow(
      /dup.yaml: not valid YAML/,
    );
  });
});

describe('config lookup order', () => {
  const yaml = (stateDir: string) =>
    `stateDir: ${stateDir}\naccounts:\n  - { name: a, configDir: /tmp/a }\n`;

  it('--config, then $CLAUDE_FAILOVER_CONFIG, then cosmiconfig from the cwd, then XDG', async () => {
    const dir = tempDir();
    const project = path.join(dir, 'proj', 'sub');
    fs.mkdirSync(project, { recursive: true });
    fs.writeFileSync(path.join(dir, 'proj', 'package.json'), '{"name":"p"}');
    const xdg = path.join(dir, 'xdg');
    fs.mkdirSync(path.join(xdg, 'claude-failover'), { recursive: true });
    const xdgFile = writeConfig(path.join(xdg, 'claude-failover'), yaml('/s/xdg'));
    const env: NodeJS.ProcessEnv = { HOME: dir, XDG_CONFIG_HOME: xdg };

    expect(await findConfigFile({ cwd: project, env })).toBe(xdgFile);

    const rc = writeConfig(path.join(dir, 'proj'), yaml('/s/rc'), '.claude-failoverrc.yaml');
    expect(await findConfigFile({ cwd: project, env })).toBe(rc);
    const named = writeConfig(
      path.join(dir, 'proj'),
      yaml('/s/named'),
      'claude-failover.config.yaml',
    );
    // Within one directory, searchPlaces order decides: the rc file comes first.
    expect(await findConfigFile({ cwd: project, env })).toBe(rc);
    fs.rmSync(rc);
    expect(await findConfigFile({ cwd: project, env })).toBe(named);

    const fromEnv = writeConfig(dir, yaml('/s/env'), 'env.yaml');
    expect(
      await findConfigFile({ cwd: project, env: { ...env, CLAUDE_FAILOVER_CONFIG: fromEnv } }),
    ).toBe(fromEnv);

    const explicit = writeConfig(dir, yaml('/s/explicit'), 'explicit.yaml');
    const cfg = await loadConfig({
      explicit,
      cwd: project,
      env: { ...env, CLAUDE_FAILOVER_CONFIG: fromEnv },
    });
    expect(cfg.stateDir).toBe('/s/explicit');
    expect(cfg.file).toBe(explicit);

    await expect(
      loadConfig({ explicit: path.join(dir, 'missing.yaml'), cwd: dir, env }),
    ).rejects.toThrow(/missing.yaml: config file not found/);
  });

  it('reads package.json#claude-failover', async () => {
    const dir = tempDir();
    fs.writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({
        name: 'x',
        'claude-failover': { stateDir: '/s/pkg', accounts: [{ name: 'a', configDir: '/tmp/a' }] },
      }),
    );
    const cfg = await loadConfig({
      cwd: dir,
      env: { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'none') },
    });
    expect(cfg.stateDir).toBe('/s/pkg');
  });

  it('says where it looked when there is no config', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"empty"}');
    await expect(
      loadConfig({ cwd: dir, env: { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'none') } }),
    ).rejects.toThrow(
      /no config file found; looked at: --config, \$CLAUDE_FAILOVER_CONFIG, cosmiconfig/,
    );
  });
});

describe('config.example.yaml', () => {
  const file = path.join(ROOT, 'config.example.yaml');

  it('loads and expands 20 sessions', async () => {
    const cfg = await loadConfig({ explicit: file });
    expect(cfg.accounts.map((a) => a.name)).toEqual(['primary', 'backup']);
    expect(cfg.sessions).toHaveLength(20);
    expect(cfg.sessions.at(-1)!.name).toBe('ccl-auto-20');
  });

  it('documents every key of the schema', () => {
    const text = fs.readFileSync(file, 'utf8');
    const keys = new Set<string>();
    const walk = (shape: Record<string, unknown>) => {
      for (const [k, v] of Object.entries(shape)) {
        keys.add(k);
        let inner = v as { _zod?: { def?: Record<string, unknown> } };
        // Unwrap defaults, prefaults, nullables and pipes down to an object's shape.
        for (let i = 0; i < 6 && inner?._zod?.def; i++) {
          const def = inner._zod.def as {
            shape?: Record<string, unknown>;
            innerType?: unknown;
            in?: unknown;
            element?: unknown;
          };
          if (def.shape) {
            walk(def.shape);
            break;
          }
          inner = (def.innerType ?? def.in ?? def.element) as typeof inner;
        }
      }
    };
    walk((rawConfigSchema._zod.def as unknown as { shape: Record<string, unknown> }).shape);
    expect(keys.size).toBeGreaterThan(50);
    const undocumented = [...keys].filter((k) => !new RegExp(`(^|[\\s{,#])${k}:`, 'm').test(text));
    expect(undocumented).toEqual([]);
    // It is valid YAML on its own.
    expect(() => parse(text)).not.toThrow();
  });
});
