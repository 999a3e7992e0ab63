/**
 * The fingerprint of a prompt, as the `UserPromptSubmit` hook records it and as delivery
 * looks for it: a delivered prompt is one Claude Code reports back, and the hook stores this
 * short hash rather than the text. Kept apart so the hook bundle stays small.
 */
import { createHash } from 'node:crypto';

/** The prompt with white space folded: a paste may gain or lose a line end on the way. */
export function normalizePrompt(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** 16 hex digits of the SHA-256 of the normalised prompt. */
export function promptFingerprint(text: string): string {
  return createHash('sha256').update(normalizePrompt(text)).digest('hex').slice(0, 16);
}
