/** The one table style of the human output: no borders between rows, no wrapping. */
import type { Output } from './output.js';

export interface TextTable {
  push(row: Array<string | number>): void;
  toString(): string;
}

/** A table with bold headings (when stdout takes colour); cli-table3 is loaded on first use. */
export async function textTable(out: Output, head: string[]): Promise<TextTable> {
  const { default: Table } = await import('cli-table3');
  const c = out.stdoutColor;
  return new Table({
    head: head.map((h) => c.bold(h)),
    style: { head: [], border: [] },
    wordWrap: false,
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  }) as unknown as TextTable;
}
