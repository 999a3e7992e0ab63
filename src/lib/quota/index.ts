/**
 * Quota detection from pane text: the public API.
 *
 *   const classifier = await createClassifier({ timezone, patterns }); // loads luxon once
 *   const result = classifier.classify(paneText, now);                 // sync, pure
 *
 * or, for a one-off, `await classifyText(text, { now, timezone, patterns })`.
 */
import type * as Luxon from 'luxon';
import { importCjs } from '../core/interop.js';
import {
  QuotaClassifier,
  type ClassifierOptions,
  type QuotaExplanation,
  type QuotaVerdict,
} from './classify.js';

export { QuotaClassifier } from './classify.js';
export type {
  ClassifierOptions,
  LineVerdict,
  QuotaExplanation,
  QuotaKind,
  QuotaVerdict,
  UserPatterns,
  Verdict,
} from './classify.js';
export { lastLines, normalizeText } from './text.js';
export { LONG_RETRY_MS } from './patterns.js';
export { findResetPhrase, type ResetPhrase, type ResetSpec } from './reset-phrase.js';
export { resolveReset } from './reset-time.js';

let luxon: typeof Luxon | undefined;

/** Loads luxon (lazily: only quota commands pay for it). Idempotent. */
export async function loadLuxon(): Promise<typeof Luxon> {
  luxon ??= await importCjs(() => import('luxon'));
  return luxon;
}

/** A classifier with its zone and user patterns compiled. Throws ConfigError on bad ones. */
export async function createClassifier(opts: ClassifierOptions = {}): Promise<QuotaClassifier> {
  return new QuotaClassifier(await loadLuxon(), opts);
}

/** One-off classification of a capture at detection time `now`. */
export async function classifyText(
  text: string,
  opts: ClassifierOptions & { now: Date },
): Promise<QuotaExplanation> {
  return (await createClassifier(opts)).classify(text, opts.now);
}

/** The object `quota explain --json` prints (README "How detection decides"), keys in order. */
export function toVerdictJson(r: QuotaVerdict): QuotaVerdict {
  return {
    verdict: r.verdict,
    kind: r.kind,
    resetsAt: r.resetsAt,
    resetText: r.resetText,
    pattern: r.pattern,
    line: r.line,
  };
}
