/**
 * The fingerprint of a prompt, as the `UserPromptSubmit` hook records it and as delivery
 * looks for it: a delivered prompt is one Claude Code reports back, and the hook stores this
 * short hash rather than the text. Kept apart so the hook bundle stays small.
 */
import { createHash } from 'node:crypto';

// Claude Code (2.1.328, 2.1.332) hands a long paste (over 800 characters, or 10 lines or
// more) to the hook and the transcript wrapped: `<pasted_content id="964c">…</pasted_content
// id="964c">`. The text inside is what was pasted.
const PASTED_RE = /<pasted_content\b[^>]*>([\s\S]*?)<\/pasted_content\b[^>]*>/g;

/**
 * The prompt as it was typed: paste wrappers taken off and white space folded (a paste may
 * gain or lose a line end on the way).
 */
export function normalizePrompt(text: string): string {
  return text.replace(PASTED_RE, ' $1 ').replace(/\s+/g, ' ').trim();
}

/** 16 hex digits of the SHA-256 of the normalised prompt. */
export function promptFingerprint(text: string): string {
  return createHash('sha256').update(normalizePrompt(text)).digest('hex').slice(0, 16);
}
