/**
 * Four `dispatch` processes at once, over and over, against 120 tasks and 6 simulated
 * agents that finish each task by running `claude-failover task done`. In the end every task
 * is in done/ exactly once, none is left in the inbox, and no task and no session was ever
 * handed two things at the same time (checked from the events log, and by sampling the
 * markers while it runs).
 *
 * The agents run without hooks here (status.json is kept by dispatch and `task done`, the
 * pane does the rest), which keeps 120 tasks within a minute on two busy cores; the hooks'
 * part is covered in dispatch.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DispatchReport } from '../src/lib/dispatch/report.js';
import { readEvents } from '../src/lib/core/events.js';
import { simSandbox, waitFor } from './helpers/sim.js';

const TASKS = 120;
const SESSIONS = 6;
const DISPATCHERS = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('dispatch under concurrency', () => {
  it(
    `${DISPATCHERS} dispatchers, ${TASKS} tasks, ${SESSIONS} agents: each task done once, never two at a time`,
    { timeout: 300_000 },
    async () => {
      const sb = simSandbox({
        sessions: `ccl-{0..${SESSIONS - 1}}`,
        agentEnv: { SIM_TURN_MS: '20', SIM_START_MS: '100' },
        extra: 'dispatch: { settle: 0s }',
      });
      const inbox = path.join(sb.project, '.agent-queue', 'inbox');
      const done = path.join(sb.project, '.agent-queue', 'done');
      fs.mkdirSync(inbox, { recursive: true });
      const ids = Array.from({ length: TASKS }, (_, i) => `task-${String(i).padStart(3, '0')}`);
      for (const [i, id] of ids.entries()) {
        const front = i % 10 === 0 ? `---\npriority: ${i % 3}\n---\n` : '';
        fs.writeFileSync(path.join(inbox, `${id}.md`), `${front}sim-work: 20ms\nTask ${i}.\n`);
      }
      const start = await sb.cli(['session', 'start']);
      expect(start.exitCode, start.stderr).toBe(0);
      for (let i = 0; i < SESSIONS; i++) await sb.waitForPane(`ccl-${i}`, /^❯/m);

      const doneCount = () => (fs.existsSync(done) ? fs.readdirSync(done).length : 0);
      // Only a bound so a broken dispatch ends the test: a loaded machine may be slow.
      const deadline = Date.now() + 240_000;

      // Samples the live markers: a session must never hold two undone tasks at once.
      const overlaps: string[] = [];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const bySession = new Map<string, string[]>();
          for (const name of fs.readdirSync(inbox)) {
            if (!name.endsWith('.md.dispatched')) continue;
            let session: string;
            try {
              session = JSON.parse(fs.readFileSync(path.join(inbox, name), 'utf8')).session;
            } catch {
              continue; // removed between the listing and the read
            }
            if (!fs.existsSync(path.join(inbox, name.slice(0, -'.dispatched'.length)))) continue;
            bySession.set(session, [...(bySession.get(session) ?? []), name]);
          }
          for (const [s, held] of bySession)
            if (held.length > 1) overlaps.push(`${s}: ${held.join(', ')}`);
          await sleep(25);
        }
      })();

      const failures: string[] = [];
      let runs = 0;
      let contended = 0;
      const loops = Array.from({ length: DISPATCHERS }, async (_, k) => {
        await sleep(k * 60);
        while (doneCount() < TASKS && Date.now() < deadline) {
          const r = await sb.cli(['dispatch', '--json']);
          runs++;
          if (r.exitCode !== 0) failures.push(`exit ${r.exitCode}: ${r.stderr.slice(0, 300)}`);
          else {
            const report = JSON.parse(r.stdout) as DispatchReport;
            // How often the guards had to act: a session claimed by another dispatcher (or
            // handed a task meanwhile), or a task whose marker another one created first.
            contended +=
              report.passed.length +
              report.skipped.filter((x) => x.reason === 'another dispatch took it').length;
          }
          await sleep(150 + Math.random() * 250);
        }
      });
      await Promise.all(loops);
      await waitFor(() => doneCount() >= TASKS, `${TASKS} tasks done`, 20_000).catch(
        () => undefined,
      );
      sampling = false;
      await sampler;
      console.log(`${runs} dispatch runs, ${contended} times a guard stepped in`);
      expect(overlaps).toEqual([]);

      // From the log: one `task.done` per task, and between two hand-outs of one task, or two
      // hand-outs to one session, the earlier one ended (done, or not delivered).
      const events = readEvents(sb.stateDir).filter((e) =>
        ['task.dispatched', 'task.done', 'task.undelivered'].includes(e.event),
      );
      const doneEvents = events.filter((e) => e.event === 'task.done');
      const openTask = new Map<string, string>();
      const openSession = new Map<string, string>();
      const twice: string[] = [];
      for (const e of events) {
        const task = e.task as string;
        const session = e.session as string;
        if (e.event === 'task.dispatched') {
          if (openTask.has(task))
            twice.push(`${task} handed out again while with ${openTask.get(task)}`);
          if (openSession.has(session))
            twice.push(`${session} got ${task} while holding ${openSession.get(session)}`);
          openTask.set(task, session);
          openSession.set(session, task);
        } else {
          const holder = openTask.get(task);
          openTask.delete(task);
          if (holder && openSession.get(holder) === task) openSession.delete(holder);
        }
      }
      expect(twice).toEqual([]);
      expect(failures).toEqual([]);
      expect(doneEvents.map((e) => e.task).sort()).toEqual(ids);

      // Every task in done/ exactly once (no `~2` copy), nothing left behind.
      expect(fs.readdirSync(done).sort()).toEqual(ids.map((id) => `${id}.md`));
      await waitFor(() => fs.readdirSync(inbox).length === 0, 'an empty inbox', 10_000);
      expect(fs.existsSync(path.join(sb.project, '.agent-queue', 'failed'))).toBe(false);
      expect(openTask.size).toBe(0);
      expect(contended).toBeGreaterThan(0);
      // Every agent did its share.
      const perSession = new Map<string, number>();
      for (const e of doneEvents)
        perSession.set(e.session as string, (perSession.get(e.session as string) ?? 0) + 1);
      expect(perSession.size).toBe(SESSIONS);
    },
  );
});
