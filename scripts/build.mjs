// `npm run build` (and the benchmarks' and tests' builds): compile with tsc, then copy the static files
// the server reads at run time (the owner page, the credential's JSON-LD context, GS1's EPCIS JSON schema),
// which tsc does not emit. Usage: node scripts/build.mjs [tsconfig]
import { execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { createRequire } from 'node:module';

const project = process.argv[2] ?? 'tsconfig.build.json';
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', project], { stdio: 'inherit' });
cpSync('src/modules/ownership/owner-page', 'dist/src/modules/ownership/owner-page', { recursive: true });
cpSync('src/modules/passports/contexts', 'dist/src/modules/passports/contexts', { recursive: true });
cpSync('src/modules/history/epcis-schema', 'dist/src/modules/history/epcis-schema', { recursive: true });
