/** The conversation's transcript: Claude-style JSONL lines, found again on `--resume`. */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { encodeProjectDir } from '../lib/claude/transcript-path.js';
import { configDir, cwd, VERSION } from './env.js';

/** The conversation this process writes: its session id and transcript file. */
export const conversation = { id: '', file: '' };
let lastUuid: string | null = null;

/** Finds `<id>.jsonl` in any project dir of this config dir (as Claude Code 2.1.223+ does). */
export function findTranscript(id: string): string | null {
  const projects = path.join(configDir, 'projects');
  const own = path.join(projects, encodeProjectDir(cwd), `${id}.jsonl`);
  if (fs.existsSync(own)) return own;
  let dirs: string[] = [];
  try {
    dirs = fs.readdirSync(projects);
  } catch {
    return null;
  }
  for (const d of dirs) {
    const f = path.join(projects, d, `${id}.jsonl`);
    if (fs.existsSync(f)) return f;
  }
  return null;
}

export function writeLine(entry: Record<string, unknown>): void {
  const uuid = randomUUID();
  const line = {
    parentUuid: lastUuid,
    isSidechain: false,
    userType: 'external',
    cwd,
    sessionId: conversation.id,
    version: VERSION,
    gitBranch: 'HEAD',
    uuid,
    timestamp: new Date().toISOString(),
    ...entry,
  };
  lastUuid = uuid;
  fs.mkdirSync(path.dirname(conversation.file), { recursive: true });
  fs.appendFileSync(conversation.file, `${JSON.stringify(line)}\n`);
}

export const assistant = (content: unknown[], extra: Record<string, unknown> = {}) =>
  writeLine({
    type: 'assistant',
    requestId: `req_sim_${randomUUID().slice(0, 8)}`,
    message: {
      id: `msg_sim_${randomUUID().slice(0, 8)}`,
      type: 'message',
      role: 'assistant',
      model: 'claude-sim',
      content,
      stop_reason: null,
      usage: { input_tokens: 10, output_tokens: 5 },
    },
    ...extra,
  });

/** The last `n` messages of a transcript, drawn the way the TUI shows them. */
export function historyTail(file: string, n: number): string[] {
  let lines: string[] = [];
  try {
    lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  } catch {
    return [];
  }
  const shown: string[] = [];
  for (const line of lines) {
    try {
      const e = JSON.parse(line) as {
        type?: string;
        isApiErrorMessage?: boolean;
        message?: { content?: unknown };
      };
      const c = e.message?.content;
      const text =
        typeof c === 'string'
          ? c
          : Array.isArray(c)
            ? (c as Array<{ type?: string; text?: string }>)
                .filter((b) => b.type === 'text')
                .map((b) => b.text)
                .join(' ')
            : '';
      if (!text) continue;
      if (e.type === 'user') shown.push(`> ${text.split('\n')[0]}`);
      else if (e.isApiErrorMessage) shown.push(`  ⎿  ${text}`);
      else if (e.type === 'assistant') shown.push(`● ${text}`);
    } catch {
      // a torn line
    }
  }
  return shown.slice(-n);
}
