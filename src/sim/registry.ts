/** The session registry entry Claude Code 2.1.3xx keeps: `<configDir>/sessions/<pid>.json`. */
import fs from 'node:fs';
import path from 'node:path';
import { processAlive } from '../lib/claude/registry.js';
import { configDir, cwd, env } from './env.js';
import { conversation } from './transcript.js';

export const registryFile = path.join(configDir, 'sessions', `${process.pid}.json`);
export function writeRegistry(status: 'busy' | 'idle'): void {
  if (env.SIM_REGISTRY === '0' || !conversation.id) return;
  try {
    fs.mkdirSync(path.dirname(registryFile), { recursive: true });
    fs.writeFileSync(
      registryFile,
      JSON.stringify({
        pid: process.pid,
        sessionId: conversation.id,
        cwd,
        startedAt: Date.now(),
        kind: 'interactive',
        status,
        statusUpdatedAt: Date.now(),
      }),
    );
  } catch {
    // best effort, as the real one
  }
}

/** A live process of this config dir that has conversation `id` open (its registry). */
export function openElsewhere(id: string): boolean {
  let names: string[];
  try {
    names = fs.readdirSync(path.join(configDir, 'sessions'));
  } catch {
    return false;
  }
  for (const name of names) {
    const pid = Number(/^(\d+)\.json$/.exec(name)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      const e = JSON.parse(fs.readFileSync(path.join(configDir, 'sessions', name), 'utf8')) as {
        sessionId?: string;
      };
      if (e.sessionId !== id) continue;
      if (processAlive(pid)) return true;
    } catch {
      // gone, or not ours to read
    }
  }
  return false;
}
