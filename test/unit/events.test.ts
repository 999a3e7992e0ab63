import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { appendEvent, eventsPath, readEvents } from '../../src/lib/core/events.js';
import { redact, redactDeep, snippet } from '../../src/lib/core/redact.js';
import { tempDir } from '../helpers/env.js';

// Real-looking, fake secrets.
const SECRETS = {
  apiKey:
    'sk-ant-api03-Xk9fL2mQ7vR4tY8uI1oP3aS6dF0gH5jK9lZ2xC7vB4nM1qW8eR3tY6uI0oP2aS5dF8gH1jK4lZ7xC0vB3nM6q-AbCdEfAA',
  oauth:
    'sk-ant-oat01-q1W2e3R4t5Y6u7I8o9P0a1S2d3F4g5H6j7K8l9Z0x1C2v3B4n5M6q7W8e9R0t1Y2u3I4o5P6-XyZ123AA',
  refresh:
    'sk-ant-ort01-Zx9Cv8Bn7Mq6We5Rt4Yu3Io2Pa1Sd0Fg9Hj8Kl7Zx6Cv5Bn4Mq3We2Rt1Yu0Io9Pa8Sd7Fg6Hj5-KlAA',
  telegram: '7318290456:AAHk3vQ9dX2pL8mN4bR7tY1wZ6cF0gJ5sE-U',
  bearer: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcGVyYXRvciJ9.c2lnbmF0dXJlLWJ5dGVz',
  urlPass: 'hunter2-S3cr3t!',
  github: 'ghp_16C7e42F292c6912E7710c838347Ae178B4a',
};

describe('redact', () => {
  it('removes every kind of token and keeps the surrounding text', () => {
    const text = [
      `export ANTHROPIC_API_KEY=${SECRETS.apiKey}`,
      `{"claudeAiOauth":{"accessToken":"${SECRETS.oauth}","refreshToken":"${SECRETS.refresh}"}}`,
      `POST https://api.telegram.org/bot${SECRETS.telegram}/sendMessage chat_id=123`,
      `bot token ${SECRETS.telegram} in a log`,
      `Authorization: Bearer ${SECRETS.bearer}`,
      `curl -H "authorization: Bearer ${SECRETS.bearer}" https://x`,
      `git clone https://deploy:${SECRETS.urlPass}@git.example.com/repo.git`,
      `postgres://admin:${SECRETS.urlPass}@db:5432/app`,
      `GITHUB_TOKEN=${SECRETS.github}`,
      `password: "${SECRETS.urlPass}"`,
    ].join('\n');
    const out = redact(text);
    for (const secret of Object.values(SECRETS)) expect(out).not.toContain(secret);
    expect(out).toContain('[REDACTED]');
    expect(out).toContain('https://api.telegram.org/bot[REDACTED]/sendMessage chat_id=123');
    expect(out).toContain('git clone https://[REDACTED]@git.example.com/repo.git');
    expect(out).toContain('Authorization: Bearer [REDACTED]');
  });

  it('leaves ordinary text and limit messages alone', () => {
    for (const text of [
      "You've hit your session limit · resets 12:50am (America/Los_Angeles)",
      'Claude AI usage limit reached|1753560000',
      'API Error: 500 {"type":"error","error":{"type":"api_error","message":"Internal server error"}}',
      'see https://status.claude.com for details',
      'the token budget is 200k',
    ]) {
      expect(redact(text)).toBe(text);
    }
  });

  it('redacts nested values and secret-named keys', () => {
    const out = redactDeep({
      a: [`x ${SECRETS.oauth}`],
      botToken: 'plainsecretvalue',
      n: 3,
      ok: 'fine',
    });
    expect(JSON.stringify(out)).not.toContain(SECRETS.oauth);
    expect(out.botToken).toBe('[REDACTED]');
    expect(out.n).toBe(3);
    expect(out.ok).toBe('fine');
  });

  it('cuts snippets to 120 characters after redaction', () => {
    const s = snippet(`${'word '.repeat(40)} ${SECRETS.apiKey}`);
    expect(s.length).toBeLessThanOrEqual(120);
    expect(snippet(`key ${SECRETS.apiKey}`)).toBe('key sk-ant-[REDACTED]');
  });
});

describe('events.jsonl', () => {
  it('appends one redacted JSON object per line with ts, event and level, mode 0600', () => {
    const dir = tempDir();
    appendEvent(
      dir,
      'quota.detected',
      { session: 'ccl-1', snippet: `leak ${SECRETS.oauth}` },
      { level: 'warn', now: new Date('2026-11-24T10:00:00Z') },
    );
    appendEvent(dir, 'swap.completed', { from: 'primary', to: 'backup' });
    const text = fs.readFileSync(eventsPath(dir), 'utf8');
    expect(text.split('\n').filter(Boolean)).toHaveLength(2);
    expect(text).not.toContain(SECRETS.oauth);
    const [first, second] = readEvents(dir);
    expect(first).toMatchObject({
      ts: '2026-11-24T10:00:00.000Z',
      event: 'quota.detected',
      level: 'warn',
      session: 'ccl-1',
    });
    expect(second).toMatchObject({ event: 'swap.completed', level: 'info', from: 'primary' });
    expect(fs.statSync(eventsPath(dir)).mode & 0o777).toBe(0o600);
  });

  it('skips a torn last line when reading', () => {
    const dir = tempDir();
    appendEvent(dir, 'a');
    fs.appendFileSync(eventsPath(dir), '{"ts":"2026-');
    expect(readEvents(dir).map((e) => e.event)).toEqual(['a']);
  });
});
