/**
 * MCP `task_add` calls from three servers at once, while two `dispatch` processes hand the
 * tasks to three simulated agents that finish each with `task done`: every add gets its own
 * id (the same text gives the same derived id, so the exclusive create must pick `-2`,
 * `-3`, ...), every task is done exactly once, and nothing is left in the inbox.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readEvents } from '../src/lib/core/events.js';
import { killTmuxAndWait } from './helpers/env.js';
import { connectMcp } from './helpers/mcp-client.js';
import { simSandbox, waitFor } from './helpers/sim.js';

const SERVERS = 3;
const PER_SERVER = 10;
const TASKS = SERVERS * PER_SERVER;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('mcp task_add against a running dispatch', () => {
  const sb = simSandbox({
    sessions: 'ccl-{0..2}',
    agentEnv: { SIM_TURN_MS: '20', SIM_START_MS: '100' },
    extra: 'dispatch: { settle: 0s }',
  });
  afterAll(() => killTmuxAndWait(sb.tmux));

  it(
    `${SERVERS} servers add ${TASKS} tasks while 2 dispatchers run`,
    { timeout: 180_000 },
    async () => {
      const inbox = path.join(sb.project, '.agent-queue', 'inbox');
      const done = path.join(sb.project, '.agent-queue', 'done');
      const start = await sb.cli(['session', 'start']);
      expect(start.exitCode, start.stderr).toBe(0);
      for (let i = 0; i < 3; i++) await sb.waitForPane(`ccl-${i}`, /^❯/m);
      const servers = await Promise.all(
        Array.from({ length: SERVERS }, () =>
          connectMcp(sb.configFile, ['--allow-write'], { HOME: sb.home }),
        ),
      );

      const doneCount = () => (fs.existsSync(done) ? fs.readdirSync(done).length : 0);
      const deadline = Date.now() + 150_000; // only a bound, so a broken dispatch ends the test
      let adding = true;
      const failures: string[] = [];
      const dispatchers = Array.from({ length: 2 }, async (_, k) => {
        await sleep(k * 80);
        while ((adding || doneCount() < TASKS) && Date.now() < deadline) {
          const r = await sb.cli(['dispatch', '--json']);
          if (r.exitCode !== 0)
            failures.push(`dispatch exit ${r.exitCode}: ${r.stderr.slice(0, 300)}`);
          await sleep(100 + Math.random() * 150);
        }
      });

      // Same text on every call: the derived ids collide, and the exclusive create resolves it.
      const added = await Promise.all(
        servers.map(async (mcp) => {
          const ids: string[] = [];
          for (let i = 0; i < PER_SERVER; i++) {
            const r = await mcp.call('task_add', { project: 'api', text: 'sim-work: 20ms\n' });
            if (r.isError) failures.push(`task_add: ${r.text}`);
            else ids.push(r.data.task as string);
            await sleep(Math.random() * 60);
          }
          return ids;
        }),
      );
      adding = false;
      await Promise.all(dispatchers);
      await Promise.all(servers.map((s) => s.close()));

      const ids = added.flat().sort();
      expect(failures).toEqual([]);
      expect(new Set(ids).size).toBe(TASKS);
      await waitFor(() => doneCount() >= TASKS, `${TASKS} tasks done`, 20_000);
      expect(fs.readdirSync(done).sort()).toEqual(ids.map((id) => `${id}.md`).sort());
      const doneEvents = readEvents(sb.stateDir).filter((e) => e.event === 'task.done');
      expect(doneEvents.map((e) => e.task as string).sort()).toEqual(ids);
      const addedEvents = readEvents(sb.stateDir).filter((e) => e.event === 'task.added');
      expect(addedEvents.map((e) => e.task as string).sort()).toEqual(ids);
      await waitFor(() => fs.readdirSync(inbox).length === 0, 'an empty inbox', 10_000);
      expect(fs.existsSync(path.join(sb.project, '.agent-queue', 'failed'))).toBe(false);
    },
  );
});
