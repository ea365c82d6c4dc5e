import { type GraphQLField, type GraphQLInputType, getNamedType, isCompositeType, type GraphQLSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors/app-error.js';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { getSchema } from '../../src/graphql/schema.js';
import { type Known, literal, prng, type Rng, serialise, valueFor } from '../support/fuzz-values.js';
import { rowCounts } from '../support/rows.js';
import { startTestServer, type TestServer } from '../support/server.js';

// Issue 15: a schema-driven fuzz test. Every query, mutation and subscription of the built schema, called
// as anonymous, a brand and the platform with hostile strings, IDs, numbers, enums, dates, JSON and deep
// nesting (as variables mostly, inline literals sometimes). No answer may be a 5xx, INTERNAL_SERVER_ERROR,
// an unknown code or a stack trace, and a refused request may not write a row (every table counted after
// each request). DPP_FUZZ_RUNS sets the number of requests (default 2,000, about 30 s), DPP_FUZZ_SEED the seed.

const RUNS = Number(process.env.DPP_FUZZ_RUNS ?? 2000);
const SEED = Number(process.env.DPP_FUZZ_SEED ?? 15);

let s: TestServer;
let schema: GraphQLSchema;
let callers: { name: string; key?: string }[];
let known: Known;

beforeAll(async () => {
  schema = await getSchema();
  s = await startTestServer({ DPP_RATE_LIMIT_ANON_PER_MINUTE: '1000000' });
  const brand = await s.org('BRAND', { gs1CompanyPrefixes: ['0614141'], markets: ['DE'] });
  const body = '061414188888';
  const gtin = (body + gtinCheckDigit(body)).padStart(14, '0');
  expect((await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'Fuzz', warrantyMonths: 12 } }, brand.key)).errors).toBeUndefined();
  const minted = await s.gql<{ mintPassports: { passports: { id: string }[] } }>(
    'mutation($i: MintInput!) { mintPassports(input: $i) { passports { id } } }',
    { i: { gtin, quantity: 3, idempotencyKey: 'fuzz-seed', sign: true } },
    brand.key,
  );
  expect(minted.errors).toBeUndefined();
  known = { ids: [brand.id, ...minted.data!.mintPassports.passports.map((p) => p.id)], gtins: [gtin, '00614141000005', '4006381333931'] };
  callers = [{ name: 'anonymous' }, { name: 'brand', key: brand.key }, { name: 'platform', key: s.platformKey }];
}, 120_000);
afterAll(async () => {
  await s?.stop();
});

type Op = { kind: 'query' | 'mutation' | 'subscription'; field: GraphQLField<unknown, unknown> };

/** One request for `op`: arguments as variables, or (one time in five) inline; a selection of `__typename`. */
function requestFor(rng: Rng, op: Op): { query: string; variables: Record<string, unknown> } {
  const inline = rng.chance(0.2);
  const variables: Record<string, unknown> = {};
  const defs: string[] = [];
  const args: string[] = [];
  for (const arg of op.field.args) {
    const required = String(arg.type).endsWith('!');
    if (!required && rng.chance(0.4)) continue;
    const value = valueFor(rng, arg.type as GraphQLInputType, known);
    if (inline) args.push(`${arg.name}: ${literal(value, arg.type)}`);
    else {
      defs.push(`$${arg.name}: ${String(arg.type)}`);
      args.push(`${arg.name}: $${arg.name}`);
      variables[arg.name] = value;
    }
  }
  const selection = isCompositeType(getNamedType(op.field.type)) ? ' { __typename }' : '';
  const call = `${op.field.name}${args.length ? `(${args.join(', ')})` : ''}${selection}`;
  return { query: `${op.kind} Fuzz${defs.length ? `(${defs.join(', ')})` : ''} { ${call} }`, variables };
}

const STABLE = new Set<string>(ERROR_CODES.filter((c) => c !== 'INTERNAL_SERVER_ERROR'));

describe(`schema-driven fuzzing (seed ${SEED}, ${RUNS} requests)`, () => {
  it('never answers 5xx, INTERNAL_SERVER_ERROR or a stack trace, and a refused request writes nothing', async () => {
    const ops: Op[] = [];
    for (const [kind, root] of [['query', schema.getQueryType()], ['mutation', schema.getMutationType()], ['subscription', schema.getSubscriptionType()]] as const) {
      for (const field of Object.values(root?.getFields() ?? {})) ops.push({ kind, field });
    }
    expect(ops.length).toBeGreaterThan(40);
    const rng = prng(SEED);
    const failures: string[] = [];
    const seen = new Map<string, number>();
    let baseline = await rowCounts(s);
    for (let i = 0; i < RUNS && failures.length < 20; i++) {
      const op = ops[i % ops.length]!;
      const caller = callers[Math.floor(i / ops.length) % callers.length]!;
      const { query, variables } = requestFor(rng, op);
      const res = await fetch(`${s.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(caller.key ? { authorization: `Bearer ${caller.key}` } : {}) },
        body: serialise({ query, variables }),
      });
      const text = await res.text();
      const where = `#${i} ${caller.name} ${op.kind} ${op.field.name}: ${text.slice(0, 300)} <- ${query.slice(0, 200)} ${serialise(variables).slice(0, 300)}`;
      let body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] } = {};
      try {
        body = JSON.parse(text);
      } catch {
        failures.push(`not JSON (${res.status}) ${where}`);
      }
      if (res.status >= 500) failures.push(`HTTP ${res.status} ${where}`);
      for (const e of body.errors ?? []) {
        const code = String(e.extensions?.code);
        seen.set(code, (seen.get(code) ?? 0) + 1);
        if (!STABLE.has(code)) failures.push(`code ${code} ${where}`);
        if (e.extensions && 'stacktrace' in e.extensions) failures.push(`stacktrace ${where}`);
        if (/\n\s+at |\.ts:\d+|node_modules|SQL|syntax error at or near/i.test(e.message)) failures.push(`internals in message ${where}`);
      }
      const after = await rowCounts(s);
      const refused = !body.data || Object.values(body.data).every((v) => v === null);
      if (body.errors?.length && refused && JSON.stringify(after) !== JSON.stringify(baseline)) {
        const changed = Object.keys(after).filter((t) => after[t] !== baseline[t]);
        failures.push(`refused but wrote rows in ${changed.join(', ')} ${where}`);
      }
      baseline = after;
    }
    if (process.env.DPP_FUZZ_VERBOSE) console.log(Object.fromEntries(seen));
    expect(failures).toEqual([]);
    // The run exercised refusals, not only successes (and its codes are the stable ones).
    expect(seen.get('BAD_USER_INPUT') ?? 0).toBeGreaterThan(RUNS / 10);
  }, 600_000);
});

