/**
 * Confirmed delivery (src/lib/dispatch/delivery.ts, `typePrompt` in src/lib/agents/agent.ts): a prompt counts
 * as delivered only when Claude Code reports it, by its UserPromptSubmit hook or a user
 * record in its transcript, never because the screen looks right.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { typePrompt } from '../src/lib/agents/agent.js';
import { parseConfigText } from '../src/lib/core/config-parse.js';
import { confirmationProbe, transcriptHasPrompt } from '../src/lib/dispatch/delivery.js';
import { runHook } from '../src/lib/claude/hook-handler.js';
import { normalizePrompt, promptFingerprint } from '../src/lib/claude/prompt-fingerprint.js';
import { readSignals } from '../src/lib/claude/signals.js';
import { stateSchema } from '../src/lib/core/state-schema.js';
import type { Tmux } from '../src/lib/core/tmux.js';
import { killTmuxAndWait, sandboxConfig, tempDir, tmuxSocket } from './helpers/env.js';

const ID = '5f0c7a52-1111-4b5e-9c1e-0123456789ab';

function userLine(content: unknown, at: Date, extra: Record<string, unknown> = {}): string {
  return `${JSON.stringify({
    type: 'user',
    sessionId: ID,
    timestamp: at.toISOString(),
    message: { role: 'user', content },
    ...extra,
  })}\n`;
}

describe('prompt fingerprints', () => {
  it('fold white space, so a paste that gains or loses a line end matches', () => {
    expect(normalizePrompt('  Read  the task\nin x.md \n')).toBe('Read the task in x.md');
    expect(promptFingerprint('Read the task in x.md\n')).toBe(
      promptFingerprint('Read the task  in x.md'),
    );
    expect(promptFingerprint('a')).not.toBe(promptFingerprint('b'));
    // A long paste reaches the hook and the transcript wrapped (Claude Code 2.1.328+).
    const long = `Read the task in /p/${'x'.repeat(900)}.md and carry it out.`;
    expect(
      promptFingerprint(`\n\n<pasted_content id="964c">\n${long}\n</pasted_content id="964c">\n`),
    ).toBe(promptFingerprint(long));
    expect(promptFingerprint('a')).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('transcriptHasPrompt', () => {
  it('finds a user record carrying the prompt written since the send, as a string or text blocks', () => {
    const dir = tempDir();
    const file = path.join(dir, `${ID}.jsonl`);
    const sent = new Date('2026-12-04T10:00:00Z');
    const prompt = 'Read the task in /p/a.md and carry it out.';
    fs.writeFileSync(
      file,
      userLine('an older prompt', new Date(sent.getTime() - 60_000)) +
        userLine([{ type: 'text', text: `${prompt}\n` }], new Date(sent.getTime() + 500)) +
        `${JSON.stringify({ type: 'assistant', timestamp: new Date(sent.getTime() + 900).toISOString(), message: { role: 'assistant', content: [{ type: 'text', text: prompt }] } })}\n`,
    );
    expect(transcriptHasPrompt(file, sent.getTime(), prompt)).toBe(true);
    expect(transcriptHasPrompt(file, sent.getTime(), 'another prompt')).toBe(false);
    // Written long before the send: an earlier delivery of something else.
    expect(transcriptHasPrompt(file, sent.getTime() + 120_000, prompt)).toBe(false);
    // The assistant quoting the prompt is not the user sending it.
    fs.writeFileSync(
      file,
      `${JSON.stringify({ type: 'assistant', timestamp: sent.toISOString(), message: { role: 'assistant', content: [{ type: 'text', text: prompt }] } })}\n` +
        userLine(prompt, sent, { isMeta: true }),
    );
    expect(transcriptHasPrompt(file, sent.getTime(), prompt)).toBe(false);
    expect(transcriptHasPrompt(path.join(dir, 'none.jsonl'), sent.getTime(), prompt)).toBe(false);
  });
});

describe('confirmationProbe', () => {
  it('takes the UserPromptSubmit hook signal carrying the prompt, and nothing else', async () => {
    const home = tempDir();
    const file = path.join(home, 'config.yaml');
    const yaml = sandboxConfig(home);
    fs.writeFileSync(file, yaml);
    const config = await parseConfigText(yaml, file, { env: { ...process.env, HOME: home } });
    const session = config.sessions.find((s) => s.name === 'ccl-1')!;
    fs.mkdirSync(session.projectPath, { recursive: true });
    const state = stateSchema.parse({ version: 1 });
    const prompt = 'Read the task in /p/a.md and carry it out.';
    const wanted = { text: prompt, fingerprint: promptFingerprint(prompt) };
    const since = Date.now();
    expect(confirmationProbe({ config }, session, 'primary', wanted, since, state)()).toBeNull();

    await runHook(
      'UserPromptSubmit',
      JSON.stringify({ session_id: ID, transcript_path: `/x/${ID}.jsonl`, prompt: `${prompt}\n` }),
      {
        CLAUDE_FAILOVER_SESSION: 'ccl-1',
        CLAUDE_FAILOVER_ACCOUNT: 'primary',
        CLAUDE_FAILOVER_STATE_DIR: config.stateDir,
        CLAUDE_FAILOVER_PROJECT: session.projectPath,
      },
    );
    // The signal holds the fingerprint, never the text.
    const sig = readSignals(config.stateDir, 'ccl-1', null).at(-1)!;
    expect(sig).toMatchObject({ event: 'UserPromptSubmit', promptHash: wanted.fingerprint });
    expect(JSON.stringify(sig)).not.toContain('carry it out');

    expect(confirmationProbe({ config }, session, 'primary', wanted, since, state)()).toBe('hook');
    const other = { text: 'x', fingerprint: promptFingerprint('x') };
    expect(confirmationProbe({ config }, session, 'primary', other, since, state)()).toBeNull();
    // A signal from before the send (beyond the clock slack) is not this delivery.
    expect(
      confirmationProbe({ config }, session, 'primary', wanted, Date.now() + 60_000, state)(),
    ).toBeNull();
    // Another session's signal is not this session's.
    const s0 = config.sessions.find((s) => s.name === 'ccl-0')!;
    expect(confirmationProbe({ config }, s0, 'primary', wanted, since, state)()).toBeNull();
  });
});

describe('typePrompt on a real pane', () => {
  let tmux: Tmux | null = null;
  afterEach(async () => {
    if (tmux) await killTmuxAndWait(tmux);
    tmux = null;
  });

  async function pane(): Promise<Tmux> {
    ({ tmux } = tmuxSocket());
    await tmux.newSession({ name: 'p', cwd: tempDir(), command: ['cat'] });
    return tmux;
  }

  it('retries Enter, then clears and pastes again, and clears the box when nothing confirms', async () => {
    const t = await pane();
    const r = await typePrompt(t, 'p', 'never confirmed', () => null, { confirmMs: 200 });
    expect(r).toEqual({
      confirmedBy: null,
      steps: ['paste', 'enter', 'enter-again', 'repaste', 'cleared'],
    });
  });

  it('stops at the step that is confirmed', async () => {
    const t = await pane();
    // Confirmed once the line went in: the tty echoes it and cat prints it again.
    const r = await typePrompt(
      t,
      'p',
      'hello there',
      async () =>
        (await t.capturePane('p', 20)).filter((l) => l === 'hello there').length >= 2
          ? 'hook'
          : null,
      { confirmMs: 5000 },
    );
    expect(r).toEqual({ confirmedBy: 'hook', steps: ['paste', 'enter'] });
  });
});
