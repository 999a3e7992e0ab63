/**
 * The suite reads verbatim copies of ../shared/fixtures (CI clones the repository alone).
 * Where the shared folder exists, the copies must still be byte for byte the same.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/env.js';

const SHARED = path.join(ROOT, '..', 'shared', 'fixtures');

describe('fixture copies', () => {
  for (const name of ['limit-messages.json', 'transcript-samples.jsonl']) {
    it.skipIf(!fs.existsSync(path.join(SHARED, name)))(`${name} is a verbatim copy`, () => {
      expect(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', name))).toEqual(
        fs.readFileSync(path.join(SHARED, name)),
      );
    });
  }
});
