import { execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { createRequire } from 'node:module';

/** Builds dist/ once, so process-level tests (SIGTERM, the CLI) run the same JavaScript `npm start` runs. */
export default function setup(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  // The rest of `npm run build`: the owner page's static files, which the server reads at start.
  cpSync('src/modules/ownership/owner-page', 'dist/src/modules/ownership/owner-page', { recursive: true });
}
