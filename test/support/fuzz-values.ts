import {
  getNullableType,
  type GraphQLInputType,
  type GraphQLNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
} from 'graphql';

/** mulberry32: a tiny seeded PRNG, so a failing run can be replayed from its seed. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
    chance: (p: number) => next() < p,
  };
}
export type Rng = ReturnType<typeof prng>;

/** A value the serialiser writes as `depth` nested arrays (JSON.stringify itself overflows at 5,000). */
export class Deep {
  constructor(readonly depth: number) {}
}

/** Ids the seed created (a unit, organisations), so some inputs name real rows. */
export type Known = { ids: string[]; gtins: string[] };

const BAD_STRINGS = ['', ' ', 'x\u0000', '\u0000', 'a\ud800', '\udc00b', '\ud83d', 'x'.repeat(20_000), "' or 1=1 --", '%00', '\u001f\u001e', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🚲', '<script>alert(1)</script>', '../../etc/passwd', '\u202e', 'null'];
const BAD_IDS = ['', ' ', 'not-a-uuid', '00000000-0000-0000-0000-000000000000', '00000000-0000-4000-8000-00000000000g', 'x\u0000', '\ud800', 'A'.repeat(43), 'A'.repeat(44), '1', '-1'];
const INTS = [0, -1, 1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 1e20, -1e20, 3.5, Number.MAX_SAFE_INTEGER, 'NaN', '1', true];
const FLOATS = [0, -0, 1.5, -1e308, 1e308, Number.MIN_VALUE, 'NaN', 'Infinity', 91, -181, 1e-320];
const DATES = ['2024-05-02T08:00:00Z', '2024-13-01T00:00:00Z', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59Z', 'garbage', '', '2024-02-30T00:00:00Z', 1700000000000];

function randomUuid(rng: Rng): string {
  const hex = () => rng.int(16).toString(16);
  const part = (n: number) => Array.from({ length: n }, hex).join('');
  return `${part(8)}-${part(4)}-4${part(3)}-8${part(3)}-${part(12)}`;
}

function jsonValue(rng: Rng, depth: number): unknown {
  if (rng.chance(0.05)) return new Deep(rng.pick([100, 2000, 5000]));
  if (depth > 3 || rng.chance(0.3)) return rng.pick([...BAD_STRINGS.slice(0, 8), 1, -1, 1e308, true, null]);
  if (rng.chance(0.5)) return Array.from({ length: rng.int(4) }, () => jsonValue(rng, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = rng.int(4); i > 0; i--) o[rng.pick(['type', 'id', 'x\u0000', 'eventList', 'epcisBody', '\ud800', 'bizStep', '@context'])] = jsonValue(rng, depth + 1);
  return o;
}

/** A value for `type`: mostly hostile, sometimes plausible, now and then missing or of the wrong shape. */
export function valueFor(rng: Rng, type: GraphQLInputType, known: Known, depth = 0): unknown {
  if (!isNonNullType(type) && rng.chance(0.15)) return null;
  const t = getNullableType(type) as GraphQLInputType;
  if (rng.chance(0.04)) return rng.pick([{}, [], 'wrong', 42, new Deep(rng.pick([50, 5000]))]);
  if (isListType(t)) {
    if (depth > 4) return [];
    const n = rng.pick([0, 1, 2, 3, 60]);
    return Array.from({ length: n }, () => valueFor(rng, t.ofType as GraphQLInputType, known, depth + 1));
  }
  if (isInputObjectType(t)) {
    if (depth > 4) return {};
    const o: Record<string, unknown> = {};
    for (const f of Object.values(t.getFields())) {
      if (!isNonNullType(f.type) && rng.chance(0.4)) continue;
      if (isNonNullType(f.type) && rng.chance(0.03)) continue; // a required field missing
      o[f.name] = valueFor(rng, f.type, known, depth + 1);
    }
    if (rng.chance(0.05)) o.notAField = 'x';
    return o;
  }
  return scalarValue(rng, t as GraphQLNamedType, known);
}

function scalarValue(rng: Rng, t: GraphQLNamedType, known: Known): unknown {
  if (isEnumType(t)) {
    const values = t.getValues().map((v) => v.name);
    return rng.chance(0.7) ? rng.pick(values) : rng.pick(['NOT_A_VALUE', values[0]!.toLowerCase(), '', 'x\u0000', 1]);
  }
  if (!isScalarType(t)) return null;
  switch (t.name) {
    case 'ID':
      return rng.chance(0.5) ? rng.pick(known.ids) : rng.chance(0.3) ? randomUuid(rng) : rng.pick(BAD_IDS);
    case 'Int':
      return rng.pick(INTS);
    case 'Float':
      return rng.pick(FLOATS);
    case 'Boolean':
      return rng.chance(0.9) ? rng.chance(0.5) : 'true';
    case 'DateTime':
    case 'DateTimeISO':
      return rng.pick(DATES);
    case 'JSON':
    case 'JSONObject':
      return jsonValue(rng, 0);
    default:
      // String, and any scalar parsed from a string.
      return rng.chance(0.6) ? rng.pick(BAD_STRINGS) : rng.pick([...known.gtins, 'DE', 'shipping', 'urn:epc:id:sgln:0614141.00001.0', 'QR', 'ok', 'https://example.com/x']);
  }
}

/** JSON text of a request body, writing each {@link Deep} as nested arrays. */
export function serialise(body: unknown): string {
  const deep: number[] = [];
  const text = JSON.stringify(body, (_k, v) => {
    if (v instanceof Deep) {
      deep.push(v.depth);
      return `\u0001DEEP${deep.length - 1}\u0001`;
    }
    return v;
  });
  return text.replace(/"\\u0001DEEP(\d+)\\u0001"/g, (_m, i: string) => `${'['.repeat(deep[Number(i)]!)}1${']'.repeat(deep[Number(i)]!)}`);
}

/** The value as a GraphQL literal of `type` (enum names bare, the rest as JSON would write it); Deep becomes a nested list. */
export function literal(v: unknown, type: GraphQLInputType | undefined): string {
  const t = type && (getNullableType(type) as GraphQLInputType);
  if (v instanceof Deep) return `${'['.repeat(Math.min(v.depth, 2000))}1${']'.repeat(Math.min(v.depth, 2000))}`;
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return isEnumType(t) && /^[_A-Za-z][_0-9A-Za-z]*$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '1e999';
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map((x) => literal(x, t && isListType(t) ? (t.ofType as GraphQLInputType) : undefined)).join(', ')}]`;
  const fields = isInputObjectType(t) ? t.getFields() : undefined;
  return `{ ${Object.entries(v as Record<string, unknown>)
    .filter(([k]) => /^[_A-Za-z][_0-9A-Za-z]*$/.test(k))
    .map(([k, x]) => `${k}: ${literal(x, fields?.[k]?.type)}`)
    .join(', ')} }`;
}
