/**
 * The webhook sink: a `POST` of the event as JSON with the configured headers. Header values
 * (an Authorization token, say) and the URL's path (Slack and Discord put their secret
 * there) never reach a log.
 */
import { VERSION } from '../core/version.js';
import type { Config } from '../core/config.js';
import {
  bodyText,
  errorText,
  firstLine,
  scrub,
  SINK_TIMEOUT_MS,
  type Payload,
  type SinkResult,
} from './sink.js';

type WebhookConfig = NonNullable<Config['notify']['webhook']>;

// The secrets a webhook error could echo: header values and the URL's path and query.
function webhookSecrets(cfg: WebhookConfig): string[] {
  const secrets = Object.values(cfg.headers);
  try {
    const u = new URL(cfg.url);
    const rest = `${u.pathname}${u.search}`;
    if (rest.length > 1) secrets.unshift(cfg.url, rest);
    if (u.password) secrets.push(u.password);
  } catch {
    secrets.push(cfg.url);
  }
  return secrets;
}

/** The URL as it may be shown: its origin only. */
export function webhookLabel(cfg: WebhookConfig): string {
  try {
    return new URL(cfg.url).origin;
  } catch {
    return 'webhook';
  }
}

export async function sendWebhook(
  cfg: WebhookConfig,
  payload: Payload,
  opts: { timeoutMs?: number } = {},
): Promise<SinkResult> {
  const started = Date.now();
  const fail = (why: string): SinkResult => ({
    sink: 'webhook',
    ok: false,
    error: scrub(why, webhookSecrets(cfg)),
    durationMs: Date.now() - started,
  });
  try {
    const res = await fetch(cfg.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': `claude-failover/${VERSION}`,
        ...cfg.headers,
      },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(opts.timeoutMs ?? SINK_TIMEOUT_MS),
      redirect: 'error',
    });
    const text = await bodyText(res, 500);
    if (res.ok) return { sink: 'webhook', ok: true, durationMs: Date.now() - started };
    const why = firstLine(text);
    return fail(`HTTP ${res.status}${why ? `: ${why}` : ''}`);
  } catch (err) {
    return fail(errorText(err));
  }
}
