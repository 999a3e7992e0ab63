/** Claude Code's session registry (src/lib/claude/registry.ts) on real processes and files. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { processAlive, readRegistryEntry, registryHolders } from '../src/lib/claude/registry.js';
import { tempDir, waitFor } from './helpers/env.js';

const ID = '5f0c7a52-1111-4b5e-9c1e-0123456789ab';
const procStartOf = (pid: number) => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
};

describe('processAlive', () => {
  it('is true for a running process, false for a zombie, a gone pid or another start time', async () => {
    expect(processAlive(process.pid)).toBe(true);
    expect(processAlive(process.pid, procStartOf(process.pid))).toBe(true);
    expect(processAlive(process.pid, '1')).toBe(false);
    // `sleep 0.1` exits and its parent, exec'd into `sleep 5`, never reaps it: a zombie, as an
    // agent killed in a pane is until its tmux server reaps it.
    const sh = spawn('sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 5'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const pid = Number(
        await new Promise<string>((resolve) => sh.stdout.once('data', (d) => resolve(String(d)))),
      );
      await waitFor(
        () => /^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')),
        'a zombie',
      );
      expect(processAlive(pid)).toBe(false);
    } finally {
      sh.kill('SIGKILL');
    }
    expect(processAlive(2 ** 22 + 12345)).toBe(false);
  });
});

describe('the registry', () => {
  it('reads <configDir>/sessions/<pid>.json loosely and finds the live holders of a conversation', () => {
    const a = tempDir();
    const b = tempDir();
    fs.mkdirSync(path.join(a, 'sessions'));
    fs.mkdirSync(path.join(b, 'sessions'));
    // As Claude Code 2.1.332 writes it (fields trimmed), for this very process.
    fs.writeFileSync(
      path.join(a, 'sessions', `${process.pid}.json`),
      JSON.stringify({
        pid: process.pid,
        sessionId: ID,
        cwd: '/src/app',
        procStart: procStartOf(process.pid),
        status: 'idle',
        messagingSocketPath: '/tmp/cc-socks/1.sock',
      }),
    );
    // A holder left behind by a kill (its pid is gone), and one of another conversation.
    fs.writeFileSync(path.join(b, 'sessions', '4194303.json'), JSON.stringify({ sessionId: ID }));
    fs.writeFileSync(path.join(b, 'sessions', '1.json'), JSON.stringify({ sessionId: 'other' }));
    fs.writeFileSync(path.join(b, 'sessions', 'junk.json'), '{');
    expect(readRegistryEntry(a, process.pid)).toMatchObject({
      pid: process.pid,
      sessionId: ID,
      status: 'idle',
    });
    expect(readRegistryEntry(a, 1)).toBeNull();
    expect(registryHolders([a, b, path.join(a, 'none')], ID).map((h) => h.pid)).toEqual([
      process.pid,
    ]);
  });
});
