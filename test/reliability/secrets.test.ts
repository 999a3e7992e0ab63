/**
 * Reliability: secrets never leak. An Anthropic OAuth token, a Telegram bot token, a bearer
 * header and URL credentials are planted in the config (notify sinks, agent.env, through
 * ${ENV}), in a pane and in a transcript. Then the pool runs: session start, status,
 * checkpoint, quota check, a swap triggered by a limit line that carries a token, tick,
 * doctor, notification sinks that fail and echo what they got, and a config error. No secret
 * may appear in any file under stateDir (events.jsonl, checkpoints, state.json, the outbox,
 * signals, ...), in `status --json`, or in any output, errors included.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { deliverPrompt } from '../helpers/type-prompt.js';
import { readAgentStatus } from '../../src/lib/queue/status-file.js';
import { readEvents } from '../../src/lib/core/events.js';
import { writeConfig, type CliResult } from '../helpers/env.js';
import { startHttpSink } from '../helpers/http-sink.js';
import { simSandbox, waitFor } from '../helpers/sim.js';

const alnum = (n: number) =>
  randomBytes(n * 2)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, n);

const SK = `sk-ant-oat01-${alnum(48)}`;
const TELEGRAM = `123456789:AA${alnum(33)}`;
const BEARER = alnum(40);
const URL_PASS = alnum(18);
const HEADER = `Authorization: Bearer ${BEARER}`;
const URL_CREDS = `https://deploy:${URL_PASS}@git.example.com/team/repo.git`;
/** What must never be seen: each token, and the parts a careless cut could leave. */
const SECRETS = [
  SK,
  SK.slice('sk-ant-oat01-'.length),
  TELEGRAM,
  TELEGRAM.split(':')[1]!,
  BEARER,
  URL_PASS,
];

/** A clock-only reset text `h` hours from now, in UTC. */
function resetIn(hours: number): string {
  const d = new Date(Date.now() + hours * 3_600_000);
  const h = d.getUTCHours();
  return `resets ${h % 12 || 12}:${String(d.getUTCMinutes()).padStart(2, '0')}${h >= 12 ? 'pm' : 'am'} (UTC)`;
}

/** Every file under `dir`, recursively, as text. */
function allFiles(dir: string): Array<[string, string]> {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const p = path.join(e.parentPath, e.name);
      return [p, fs.readFileSync(p, 'latin1')] as [string, string];
    });
}

function expectNoSecrets(where: string, text: string): void {
  for (const s of SECRETS)
    expect(text.includes(s), `a secret (${s.slice(0, 6)}…) in ${where}`).toBe(false);
}

/** A notification command that fails and echoes its argv, as a broken script would. */
const FAILING_COMMAND = `
process.stdin.resume();
process.stdin.on('end', () => {
  process.stderr.write('sink broke, called with ' + process.argv.slice(2).join(' ') + '\\n');
  process.exit(3);
});
`;

async function sandbox() {
  // A Telegram API that refuses and echoes the URL (and so the token), as a hostile proxy would.
  const telegram = await startHttpSink((req) => ({
    status: 401,
    body: JSON.stringify({ ok: false, description: `Unauthorized ${req.url}` }),
  }));
  const webhook = await startHttpSink((req) => ({
    status: 502,
    body: `bad gateway: ${req.headers.authorization} at ${req.url}`,
  }));
  const sb = simSandbox({
    sessions: 'ccl-{0..1}',
    agentEnv: {
      HTTPS_PROXY: `https://deploy:${URL_PASS}@proxy.example:3128`,
      EXTRA_HEADER: HEADER,
      ANTHROPIC_AUTH_TOKEN: SK,
    },
  });
  const command = path.join(sb.home, 'failing-sink.cjs');
  fs.writeFileSync(command, FAILING_COMMAND);
  // The tokens come in through the environment (${...}) and as plain values.
  fs.appendFileSync(
    sb.configFile,
    `notify:
  events: [quota.detected, swap.started, swap.completed, notify.test]
  telegram: { botToken: '\${CF_TELEGRAM_TOKEN}', chatId: '42', apiBase: '${telegram.url}' }
  webhook: { url: '${webhook.url}/hook', headers: { Authorization: 'Bearer \${CF_BEARER}', X-Repo: '${URL_CREDS}' } }
  command: ${JSON.stringify([process.execPath, command, `--header=${HEADER}`, SK, URL_CREDS])}
`,
  );
  return { sb, telegram, webhook, env: { CF_TELEGRAM_TOKEN: TELEGRAM, CF_BEARER: BEARER } };
}

describe('secrets', () => {
  it('planted in config, pane and transcript, never appear in state files, status --json or any output', async () => {
    const { sb, telegram, webhook, env } = await sandbox();
    const outputs: Array<[string, CliResult]> = [];
    const cli = async (args: string[], ok: number[] = [0]) => {
      const r = await sb.cli(args, { env });
      outputs.push([args.join(' '), r]);
      expect(ok, `${args.join(' ')}: ${r.stderr}`).toContain(r.exitCode);
      return r;
    };

    await cli(['setup']);
    await cli(['session', 'start', '-v']);
    for (const n of ['ccl-0', 'ccl-1']) await sb.waitForPane(n, /^❯/m);

    // The pane: tokens in plain output, and in a transient error line quota check logs.
    const printed = [
      `export ANTHROPIC_API_KEY=${SK}`,
      `telegram bot ${TELEGRAM} ready`,
      `curl -H "${HEADER}" ${URL_CREDS}`,
      `API Error: 500 upstream said ${HEADER} for ${SK} · retrying in 5s · attempt 1/10`,
    ];
    expect(await deliverPrompt(sb.tmux, 'ccl-0', `/sim print ${printed.join('\n')}`)).toBe(true);
    await sb.waitForPane('ccl-0', /attempt 1\/10/);
    // The transcript (and the hooks): a prompt and an answer that carry them all.
    const said = `noted ${SK} ${TELEGRAM} ${HEADER} ${URL_CREDS}`;
    expect(await deliverPrompt(sb.tmux, 'ccl-1', `/sim say ${said}`)).toBe(true);
    await sb.waitForPane('ccl-1', /● noted/);
    // ... and a tool call with them, as Claude Code writes it.
    const hook = await waitFor(
      () => readAgentStatus(sb.project).sessions['ccl-1']?.transcriptPath,
      'the transcript of ccl-1',
    );
    const tail = JSON.parse(fs.readFileSync(hook, 'utf8').trim().split('\n').at(-1)!) as Record<
      string,
      unknown
    >;
    fs.appendFileSync(
      hook,
      `${JSON.stringify({
        ...tail,
        uuid: '00000000-0000-4000-8000-000000000001',
        type: 'assistant',
        message: {
          role: 'assistant',
          content: [
            {
              type: 'tool_use',
              id: 'toolu_secret',
              name: 'Bash',
              input: { command: `curl -H "${HEADER}" ${URL_CREDS}?key=${SK}&tg=${TELEGRAM}` },
            },
          ],
        },
      })}\n`,
    );

    await cli(['status']);
    await cli(['status', '--json']);
    await cli(['session', 'list', '--json']);
    await cli(['checkpoint', '-v']);
    await cli(['checkpoint', '--json']);
    await cli(['quota', 'check', '--json', '-v']);
    await cli(['watch', '--json']);
    await cli(['doctor', '-v'], [0, 1]);
    // Failing sinks echo what they got: the errors must not pass it on.
    await cli(['notify', 'test', '-v'], [1]);
    await cli(['notify', 'test', '--json'], [1]);
    expect(
      readEvents(sb.stateDir)
        .filter((e) => e.event === 'quota.detected')
        .map((e) => e.snippet),
    ).toEqual([expect.stringContaining('Bearer [REDACTED]')]);

    // A limit line that carries a token triggers a swap: its snippet is kept in state.json.
    expect(
      await deliverPrompt(
        sb.tmux,
        'ccl-1',
        `/sim print ⎿  You've hit your session limit · ${resetIn(3)} · ${SK} ${HEADER}`,
      ),
    ).toBe(true);
    await sb.waitForPane('ccl-1', /hit your session limit/);
    const swap = await cli(['quota', 'check', '--json', '-v']);
    expect(JSON.parse(swap.stdout).decision).toBe('swapped');
    await cli(['status', '--json']);
    await cli(['tick', '-v']);
    await cli(['tick', '--json']);
    // A config error that quotes a token it did not expect there.
    const bad = writeConfig(
      sb.home,
      `stateDir: ${sb.stateDir}\naccounts: [{ name: a, configDir: ${sb.home}/a }]\ncheckpoint: { interval: '${SK}' }\nnotify: { webhook: { url: 'not a url ${TELEGRAM}' } }\n`,
      'bad.yaml',
    );
    for (const args of [['status'], ['status', '--json']]) {
      const r = await sb.cli(['-c', bad, ...args], { env });
      expect(r.exitCode).toBe(2);
      outputs.push([`bad config: ${args.join(' ')}`, r]);
    }

    // The secrets were really there to leak: the sinks got them, and echoed them back.
    expect(telegram.requests[0]!.url).toBe(`/bot${TELEGRAM}/sendMessage`);
    expect(webhook.requests[0]!.headers.authorization).toBe(`Bearer ${BEARER}`);
    expect(webhook.requests[0]!.headers['x-repo']).toBe(URL_CREDS);
    const test = outputs.find(([what]) => what === 'notify test -v')![1].stdout;
    expect(test).toMatch(/^failed\s+telegram chat 42: HTTP 401: .*\[REDACTED\]/m);
    expect(test).toMatch(/^failed\s+webhook .*: HTTP 502: bad gateway: \[REDACTED\]/m);
    expect(test).toMatch(/^failed\s+command .*: exit 3: sink broke, called with \[REDACTED\]/m);
    const st = JSON.parse(fs.readFileSync(path.join(sb.stateDir, 'state.json'), 'utf8'));
    expect(st.lastSwap.trigger.snippet).toContain("You've hit your session limit");
    expect(fs.readFileSync(hook, 'utf8')).toContain(SK);
    expect(fs.existsSync(path.join(sb.stateDir, 'outbox.jsonl'))).toBe(true);
    const checkpoints = allFiles(path.join(sb.stateDir, 'checkpoints')).map(([, t]) => t);
    expect(checkpoints.join('\n')).toContain('sk-ant-[REDACTED]');
    expect(checkpoints.join('\n')).toContain('curl -H');

    for (const [what, r] of outputs) {
      expectNoSecrets(`stdout of ${what}`, r.stdout);
      expectNoSecrets(`stderr of ${what}`, r.stderr);
    }
    for (const [file, text] of allFiles(sb.stateDir)) expectNoSecrets(file, text);
    expectNoSecrets(
      'status.json',
      fs.readFileSync(path.join(sb.project, '.agent-queue', 'status.json'), 'utf8'),
    );
  }, 90_000);
});
