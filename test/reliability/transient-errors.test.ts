/**
 * Reliability: transient API errors never cause a swap. The real Claude Code CLI (two
 * sessions) talks to the loopback fake API, which serves bursts of 500 `api_error` and 529
 * `overloaded_error` whose messages say "rate limit"; Claude Code retries through them (and,
 * once in a while, gives up and shows the final error). Meanwhile `quota check` runs 60 times
 * through the CLI, as cron would. Not one swap may start.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readScreen } from '../../src/lib/agents/screens.js';
import { deliverPrompt } from '../helpers/type-prompt.js';
import { readEvents } from '../../src/lib/core/events.js';
import { readSignals } from '../../src/lib/claude/signals.js';
import {
  CLAUDE_VERSION,
  closeRealSandboxes,
  createRealSandbox,
  fakeToken,
  realClaudeAvailable,
  waitFor,
  waitForPrompt,
  waitForSignal,
  type RealSandbox,
} from '../helpers/real-claude.js';

type Json = Record<string, unknown>;

const SESSIONS = ['rc-1', 'rc-2'];
const POLLS = 60;
const POLL_EVERY_MS = 500;
/** A retry row or a final error of the burst, with its "rate limit" words. */
const RETRY_500 = /500 Internal server error: upstream rate limit exceeded · retrying in \d+s/;
const RETRY_529 = /529 Overloaded: rate limit of the upstream pool hit · retrying in \d+s/;
const FINAL_ERROR = /API Error: (500|529) .*rate limit/;

afterAll(closeRealSandboxes);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Keeps both sessions in bursts until `stop.done`: a burst of errors starts, each session
 * gets a prompt, and the next burst starts once both turns have ended. The first burst
 * outlasts the retries (CLAUDE_CODE_MAX_RETRIES=4), so that turn ends on the final error,
 * which stays on the screen; the others end in an answer.
 */
async function driveBursts(sb: RealSandbox, stop: { done: boolean }): Promise<number> {
  let bursts = 0;
  while (!stop.done) {
    bursts++;
    const since = new Date(Date.now() - 1).toISOString();
    sb.api.startBurst(fakeToken('primary'), { ms: bursts === 1 ? 30_000 : 6000 });
    await Promise.all(
      SESSIONS.map(async (s) => {
        // Ready, placeholder or not: after a final error the box says "Resend your message".
        await waitFor(
          async () => stop.done || readScreen(await sb.tmux.capturePane(s, 40)) === 'ready',
          `${s} at its prompt`,
          60_000,
        );
        if (stop.done) return;
        if (!(await deliverPrompt(sb.tmux, s, `burst ${bursts} for ${s}`))) return;
        await waitFor(
          () =>
            stop.done ||
            readSignals(sb.stateDir, s, since).some(
              (x) => x.event === 'Stop' || x.event === 'StopFailure',
            ),
          `the turn of ${s} to end`,
          60_000,
        );
      }),
    );
    await sleep(300);
  }
  return bursts;
}

describe.skipIf(!realClaudeAvailable())(
  `transient errors (real Claude Code ${CLAUDE_VERSION})`,
  () => {
    it(`${POLLS} polls during bursts of 500s and 529s that say "rate limit" give zero swaps`, async () => {
      const sb = await createRealSandbox({
        sessions: SESSIONS,
        // Fewer retries than the default 10, so that a burst ends (or gives up) in seconds.
        agentEnv: { CLAUDE_CODE_MAX_RETRIES: '4' },
        // An operator's naive extra pattern: transient lines must not count, whatever they say.
        extraYaml: `quota: { patterns: { limit: ['rate limit'] } }\n`,
      });
      expect((await sb.cli(['setup'])).exitCode).toBe(0);
      const start = await sb.cli(['session', 'start']);
      expect(start.exitCode, start.stderr).toBe(0);
      for (const s of SESSIONS) {
        await waitForSignal(sb.stateDir, s, (x) => x.event === 'SessionStart', {
          timeoutMs: 40_000,
        });
        await waitForPrompt(sb.tmux, s);
      }
      const pids = Object.fromEntries(
        [...(await sb.tmux.sessions())].map(([name, p]) => [name, p.pid]),
      );

      const stop = { done: false };
      const driver = driveBursts(sb, stop);
      const seen = { r500: 0, r529: 0, final: 0, any: 0 };
      const decisions: string[] = [];
      try {
        for (let poll = 0; poll < POLLS; poll++) {
          // Paced, so that the polls span several bursts (cron would poll once a minute).
          const next = sleep(POLL_EVERY_MS);
          // What the panes show as the poll runs.
          const screens = await Promise.all(
            SESSIONS.map(async (s) => (await sb.tmux.capturePane(s, 40)).join('\n')),
          );
          const r = await sb.cli(['quota', 'check', '--json']);
          expect(r.exitCode, r.stderr).toBe(0);
          const out = JSON.parse(r.stdout) as Json & { detections: Json[] };
          decisions.push(out.decision as string);
          expect(out.decision, JSON.stringify(out.detections)).toBe('clean');
          expect(out.detections.filter((d) => d.verdict === 'limit')).toEqual([]);
          const text = screens.join('\n');
          if (RETRY_500.test(text)) seen.r500++;
          if (RETRY_529.test(text)) seen.r529++;
          if (FINAL_ERROR.test(text)) seen.final++;
          if (RETRY_500.test(text) || RETRY_529.test(text) || FINAL_ERROR.test(text)) seen.any++;
          await next;
        }
      } finally {
        stop.done = true;
      }
      const bursts = await driver;

      // The polls really ran while the error screens were up, or this proved nothing.
      expect(seen.any, JSON.stringify(seen)).toBeGreaterThanOrEqual(POLLS / 3);
      expect(seen.r500, JSON.stringify(seen)).toBeGreaterThan(0);
      expect(seen.r529, JSON.stringify(seen)).toBeGreaterThan(0);
      expect(seen.final, JSON.stringify(seen)).toBeGreaterThan(0);
      expect(bursts).toBeGreaterThanOrEqual(3);
      const served = sb.api.messageRequests(fakeToken('primary')).map((q) => q.status);
      expect(served.filter((s) => s === 500).length).toBeGreaterThanOrEqual(4);
      expect(served.filter((s) => s === 529).length).toBeGreaterThanOrEqual(4);
      // quota check saw them, and called every one transient.
      const detected = readEvents(sb.stateDir).filter((e) => e.event === 'quota.detected');
      expect(detected.length).toBeGreaterThan(0);
      expect(new Set(detected.map((e) => e.verdict))).toEqual(new Set(['transient']));
      // Claude Code never reported a limit either.
      for (const s of SESSIONS)
        expect(readSignals(sb.stateDir, s, null).filter((x) => x.error === 'rate_limit')).toEqual(
          [],
        );

      // Zero swaps: none recorded, none started, none pending, nothing marked, nobody moved.
      const st = JSON.parse(fs.readFileSync(path.join(sb.stateDir, 'state.json'), 'utf8')) as Json;
      expect(st.swaps).toEqual([]);
      expect(st.lastSwap).toBeNull();
      expect(st.pendingSwap).toBeNull();
      expect(st.swapJournal).toBeNull();
      expect((st.quota as { suspects: Json }).suspects).toEqual({});
      const events = readEvents(sb.stateDir).map((e) => e.event);
      expect(events.filter((e) => e.startsWith('swap.') || e === 'account.exhausted')).toEqual([]);
      const status = JSON.parse((await sb.cli(['status', '--json'])).stdout) as {
        activeAccount: string;
        accounts: Json[];
        sessions: Json[];
      };
      expect(status.activeAccount).toBe('primary');
      expect(status.accounts.map((a) => [a.name, a.status])).toEqual([
        ['primary', 'available'],
        ['backup', 'available'],
      ]);
      expect(status.sessions.map((s) => [s.name, s.account])).toEqual(
        SESSIONS.map((s) => [s, 'primary']),
      );
      // The same agents still run: nothing was stopped or relaunched.
      const after = await sb.tmux.sessions();
      for (const s of SESSIONS) expect(after.get(s)?.pid).toBe(pids[s]);
    }, 150_000);
  },
);
