/**
 * The OAuth usage endpoint (`quota.usageApi`), rationed: what `/usage` shows, for the
 * headroom of accounts that have no running session (their statusline says nothing). It is
 * asked at most once per `cacheFor` per account, answers are kept in the state file, and
 * failures (it rate-limits its own callers) only wait for the next turn. The token is read
 * from the account's `.credentials.json` and never logged.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../core/context.js';
import { appendEvent } from '../core/events.js';
import { redact } from '../core/redact.js';
import { accountState } from '../core/state-schema.js';
import * as z from '../core/zod.js';

const windowSchema = z.nullable(
  z.optional(
    z.looseObject({
      utilization: z.nullable(z.number()),
      resets_at: z.optional(z.nullable(z.string())),
    }),
  ),
);
const usageSchema = z.looseObject({ five_hour: windowSchema, seven_day: windowSchema });
const credentialsSchema = z.looseObject({
  claudeAiOauth: z.looseObject({ accessToken: z.string() }),
});

const TIMEOUT_MS = 5000;

function toWindow(w: z.output<typeof windowSchema>) {
  if (!w || w.utilization === null) return null;
  return {
    usedPercentage: w.utilization,
    resetsAt: w.resets_at ? new Date(w.resets_at).toISOString() : null,
  };
}

/** Asks the usage endpoint for each enabled account whose last answer is older than cacheFor. */
export async function refreshUsageFromApi(ctx: Context, now: Date): Promise<void> {
  const { usageApi } = ctx.config.quota;
  const state = ctx.state.read();
  const due = ctx.config.accounts.filter((a) => {
    const at = state.quota.usageApiAt[a.name];
    return a.enabled && (!at || now.getTime() - Date.parse(at) >= usageApi.cacheFor);
  });
  if (!due.length) return;
  const answers = await Promise.all(
    due.map(async (a) => {
      try {
        const creds = credentialsSchema.safeParse(
          JSON.parse(fs.readFileSync(path.join(a.configDir, '.credentials.json'), 'utf8')),
        );
        if (!creds.success) throw new Error('no OAuth access token in .credentials.json');
        const res = await fetch(new URL('/api/oauth/usage', usageApi.baseUrl), {
          headers: {
            Authorization: `Bearer ${creds.data.claudeAiOauth.accessToken}`,
            'anthropic-beta': 'oauth-2025-04-20',
            Accept: 'application/json',
          },
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const body = usageSchema.safeParse(await res.json());
        if (!body.success) throw new Error('unexpected answer shape');
        return {
          name: a.name,
          usage: {
            fiveHour: toWindow(body.data.five_hour),
            sevenDay: toWindow(body.data.seven_day),
            updatedAt: now.toISOString(),
          },
        };
      } catch (err) {
        appendEvent(
          ctx.config.stateDir,
          'usage-api.failed',
          { account: a.name, reason: redact((err as Error).message) },
          { level: 'warn', now },
        );
        return { name: a.name, usage: null };
      }
    }),
  );
  await ctx.state.update((st) => {
    for (const ans of answers) {
      st.quota.usageApiAt[ans.name] = now.toISOString();
      if (ans.usage) accountState(st, ans.name).usage = ans.usage;
    }
  });
}
