/**
 * Removes anything token-like from text before it reaches a log, an event, a checkpoint
 * or the terminal: Anthropic keys and OAuth tokens, bearer tokens, Telegram bot tokens,
 * URL credentials and `key=value` secrets.
 */

export const REDACTED = '[REDACTED]';

const RULES: ReadonlyArray<[RegExp, string | ((...m: string[]) => string)]> = [
  // Anthropic API keys and OAuth access/refresh tokens: sk-ant-api03-…, sk-ant-oat01-…, sk-ant-ort01-…
  [/sk-ant-[A-Za-z0-9_-]{4,}/g, `sk-ant-${REDACTED}`],
  // Other sk- style API keys.
  [/\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}/g, `sk-${REDACTED}`],
  // Telegram bot tokens, bare or in an API URL path (/bot<token>/).
  [/\bbot\d{5,12}:[A-Za-z0-9_-]{30,}/g, `bot${REDACTED}`],
  [/\b\d{5,12}:AA[A-Za-z0-9_-]{30,}/g, REDACTED],
  // Authorization headers and bearer tokens.
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, (_m, scheme) => `${scheme} ${REDACTED}`],
  // key=value and "key": "value" secrets; a value that is an auth scheme was handled above.
  [
    /("?(?:authorization|x-api-key|api[_-]?key|access[_-]?token|refresh[_-]?token|bot[_-]?token|password|passwd|secret|client[_-]?secret)"?\s*[:=]\s*)(?!(?:Bearer|Basic)\s)(?!"?\[REDACTED\])("[^"]*"|'[^']*'|[^\s,;}&]+)/gi,
    (_m, key, value: string) => {
      const q = value.startsWith('"') || value.startsWith("'") ? value[0] : '';
      return `${key}${q}${REDACTED}${q}`;
    },
  ],
  // Credentials inside URLs: scheme://user:pass@host
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+:[^\s/@]+@/gi, (_m, scheme) => `${scheme}${REDACTED}@`],
  // GitHub and Slack tokens.
  [/\b(?:ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}/g, REDACTED],
  [/\bxox[abprs]-[A-Za-z0-9-]{10,}/g, REDACTED],
];

/** Returns `text` with every token-like substring replaced. */
export function redact(text: string): string {
  let out = text;
  for (const [re, replacement] of RULES) {
    out = out.replace(re, replacement as (substring: string, ...args: string[]) => string);
  }
  return out;
}

/** Redacts every string inside a JSON-like value (keys are kept). */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] =
        /^(botToken|token|accessToken|refreshToken|password|secret|authorization)$/i.test(k) &&
        typeof v === 'string' &&
        v
          ? REDACTED
          : redactDeep(v);
    }
    return out as T;
  }
  return value;
}

/** Redacts and cuts text to `max` characters (for the forensic snippets in events and state). */
export function snippet(text: string, max = 120): string {
  const clean = redact(text.replace(/\s+/g, ' ').trim());
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}
