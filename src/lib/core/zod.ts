/**
 * zod for this package: the tree-shakable `zod/mini` API with English messages. The classic
 * API costs about 50 ms of start-up on every run (hooks run on every agent turn).
 */
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

// Consumers use `import * as z from './zod.js'`: static member access lets the bundler drop
// what is unused (re-exporting a namespace object would keep all of zod, locales included).
export * from 'zod/mini';
export type { $ZodIssue as ZodIssue } from 'zod/v4/core';

/** The issue message without zod's generic prefix: `expected string, received number`. */
export function issueText(issue: {
  code: string;
  message: string;
  input?: unknown;
  keys?: string[];
}): string {
  if (issue.code === 'unrecognized_keys' && issue.keys) {
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
  }
  const text = issue.message.replace(/^Invalid input: /, '');
  // zod does not keep the input in issues; a missing key reads "received undefined".
  if (issue.code === 'invalid_type' && /received undefined$/.test(text)) return 'required';
  return text;
}

/** Formats an issue path the way an operator reads it: `accounts[1].configDir`. */
export function formatKeyPath(p: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of p) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}
