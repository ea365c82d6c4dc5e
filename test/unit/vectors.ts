import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const sharedVectors = path.resolve(repoRoot, '..', 'shared', 'vectors');

/** Absolute path of the shared public test vectors folder, or undefined when it is absent. */
export const vectorsDir: string | undefined = existsSync(sharedVectors) ? sharedVectors : undefined;

let warned = false;

/**
 * `describe` for oracle tests that read the shared vectors; the suite is skipped, with one
 * warning per test file, when the folder is absent. Read vector files inside tests or hooks,
 * not in the suite body, since the body still runs while collecting a skipped suite.
 */
export function describeVectors(name: string, fn: () => void): void {
  if (!vectorsDir && !warned) {
    warned = true;
    console.warn(`Shared vectors folder ${sharedVectors} is absent, so the oracle tests are skipped.`);
  }
  describe.skipIf(!vectorsDir)(name, fn);
}
