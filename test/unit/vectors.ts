import path from 'node:path';
import { describe, expect } from 'vitest';
import { vectorsFor } from '../support/requires.js';

/** Absolute path of the shared public test vectors folder, or undefined when it is absent (one warning per test file; a failure under CI). */
export const vectorsDir: string | undefined = vectorsFor(`the oracle tests on the shared public vectors (${path.relative(process.cwd(), expect.getState().testPath ?? 'this file')})`);

/**
 * `describe` for oracle tests that read the shared vectors; skipped when the folder is absent. Read
 * vector files inside tests or hooks, not in the suite body, since the body still runs while collecting
 * a skipped suite.
 */
export function describeVectors(name: string, fn: () => void): void {
  describe.skipIf(!vectorsDir)(name, fn);
}
