import { execFileSync } from 'node:child_process';

/** Builds dist/ once (as `npm run build` does), so process-level tests (SIGTERM, the CLI) run the same JavaScript `npm start` runs. */
export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
}
