import { gtinCheckDigit } from '../../gs1/index.js';

/**
 * The identifier step of the CBV 2.0 event hash (CBV 2.0 section 8.9, rules on EPC URIs and Digital Links):
 * an EPC URI, EPC class URI or EPC pattern URI, or a GS1 Digital Link on any host, becomes the constrained
 * canonical Digital Link on https://id.gs1.org: primary key and finest qualifier only (a serial drops the
 * lot, a CPV is dropped), no query string, short names (`/gtin/`) replaced by AIs, GTINs padded to 14 digits.
 * Anything else answers undefined and is hashed as given.
 */

const ID = 'https://id.gs1.org';

/** One character of an EPC URI component (TDS 1.x): a letter, digit, allowed symbol or %XX escape. */
const EPC_CHAR = `(?:%[0-9A-Fa-f]{2}|[!'()*+,.0-9:;=A-Za-z_-])`;
const CPI_CHAR = `(?:%[0-9A-Fa-f]{2}|[0-9A-Z-])`;

/**
 * A value as it appears in the canonical Digital Link: escapes decoded, then every character that is not
 * unreserved in GS1 Digital Link 1.2 table 7-1 (and `#`, `%`) percent-encoded with upper-case hex.
 * The same value from an EPC URI or from a Digital Link thus prints the same.
 */
function dlValue(value: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(value);
  } catch {
    return undefined;
  }
  return decoded.replace(/[!"#%&()*+,/:<>?]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const cd = (digits: string) => `${digits}${gtinCheckDigit(digits)}`;
/** GTIN-14 of an EPC company prefix and an indicator + item reference (13 digits together). */
const gtin = (prefix: string, itemRef: string) => cd(`${itemRef[0]}${prefix}${itemRef.slice(1)}`);

type EpcRule = [scheme: string, pattern: string, build: (m: string[]) => string | undefined];

/** `P.R` where the company prefix P has 6 to 12 digits and P and R together have `total` digits. */
function prefixed(total: number, emptyRefAllowed = false): string {
  const alts: string[] = [];
  for (let p = 6; p <= 12; p++) {
    const r = total - p;
    if (r > 0) alts.push(`\\d{${p}}\\.\\d{${r}}`);
    else if (r === 0 && emptyRefAllowed) alts.push(`\\d{${p}}\\.`);
  }
  return `((?:${alts.join('|')}))`;
}
const split = (pr: string) => pr.split('.') as [string, string];
const serialOf = (max: number) => `(${EPC_CHAR}{1,${max}})`;

/** The EPC schemes of TDS with their Digital Link: [scheme, pattern after the scheme, build]. */
const EPC_RULES: EpcRule[] = [
  ['urn:epc:id:sgtin:', `${prefixed(13)}\\.${serialOf(20)}`, ([pr, s]) => { const [p, r] = split(pr!); return `${ID}/01/${gtin(p, r)}/21/${dlValue(s!)}`; }],
  ['urn:epc:id:sscc:', prefixed(17), ([pr]) => { const [p, r] = split(pr!); return `${ID}/00/${cd(`${r[0]}${p}${r.slice(1)}`)}`; }],
  ['urn:epc:id:sgln:', `${prefixed(12, true)}\\.${serialOf(20)}`, ([pr, ext]) => {
    const [p, r] = split(pr!);
    return ext === '0' ? `${ID}/414/${cd(p + r)}` : `${ID}/414/${cd(p + r)}/254/${dlValue(ext!)}`;
  }],
  ['urn:epc:id:grai:', `${prefixed(12, true)}\\.${serialOf(16)}`, ([pr, s]) => { const [p, r] = split(pr!); return `${ID}/8003/${cd(`0${p}${r}`)}${dlValue(s!)}`; }],
  ['urn:epc:id:giai:', `(\\d{6,12})\\.(${EPC_CHAR}{1,24})`, ([p, a]) => (p!.length + a!.length <= 30 ? `${ID}/8004/${p}${dlValue(a!)}` : undefined)],
  ['urn:epc:id:gsrn:', prefixed(17), ([pr]) => `${ID}/8018/${cd(pr!.replace('.', ''))}`],
  ['urn:epc:id:gsrnp:', prefixed(17), ([pr]) => `${ID}/8017/${cd(pr!.replace('.', ''))}`],
  ['urn:epc:id:gdti:', `${prefixed(12, true)}\\.(${EPC_CHAR}{1,17})`, ([pr, s]) => `${ID}/253/${cd(pr!.replace('.', ''))}${dlValue(s!)}`],
  ['urn:epc:id:cpi:', `(\\d{6,12})\\.(${CPI_CHAR}{1,24})\\.(\\d{1,12})`, ([p, r, s]) => `${ID}/8010/${dlValue(p! + r!)}/8011/${s}`],
  ['urn:epc:id:sgcn:', `${prefixed(12, true)}\\.(\\d{1,12})`, ([pr, s]) => `${ID}/255/${cd(pr!.replace('.', ''))}${s}`],
  ['urn:epc:id:ginc:', `(\\d{6,12})\\.(${EPC_CHAR}{1,24})`, ([p, r]) => (p!.length + r!.length <= 30 ? `${ID}/401/${p}${dlValue(r!)}` : undefined)],
  ['urn:epc:id:gsin:', prefixed(16), ([pr]) => `${ID}/402/${cd(pr!.replace('.', ''))}`],
  ['urn:epc:id:itip:', `${prefixed(13)}\\.(\\d{2})\\.(\\d{2})\\.${serialOf(20)}`, ([pr, pc, tt, s]) => { const [p, r] = split(pr!); return `${ID}/8006/${gtin(p, r)}${pc}${tt}/21/${dlValue(s!)}`; }],
  ['urn:epc:id:upui:', `${prefixed(13)}\\.${serialOf(28)}`, ([pr, s]) => { const [p, r] = split(pr!); return `${ID}/01/${gtin(p, r)}/235/${dlValue(s!)}`; }],
  ['urn:epc:id:pgln:', prefixed(12, true), ([pr]) => `${ID}/417/${cd(pr!.replace('.', ''))}`],
  ['urn:epc:class:lgtin:', `${prefixed(13)}\\.${serialOf(20)}`, ([pr, lot]) => { const [p, r] = split(pr!); return `${ID}/01/${gtin(p, r)}/10/${dlValue(lot!)}`; }],
  ['urn:epc:idpat:sgtin:', `${prefixed(13)}\\.\\*`, ([pr]) => { const [p, r] = split(pr!); return `${ID}/01/${gtin(p, r)}`; }],
  ['urn:epc:idpat:grai:', `${prefixed(12, true)}\\.\\*`, ([pr]) => `${ID}/8003/${cd(`0${pr!.replace('.', '')}`)}`],
  ['urn:epc:idpat:gdti:', `${prefixed(12, true)}\\.\\*`, ([pr]) => `${ID}/253/${cd(pr!.replace('.', ''))}`],
  ['urn:epc:idpat:sgcn:', `${prefixed(12, true)}\\.\\*`, ([pr]) => `${ID}/255/${cd(pr!.replace('.', ''))}`],
  ['urn:epc:idpat:cpi:', `(\\d{6,12})\\.(${CPI_CHAR}{1,24})\\.\\*`, ([p, r]) => `${ID}/8010/${dlValue(p! + r!)}`],
  ['urn:epc:idpat:itip:', `${prefixed(13)}\\.(\\d{2})\\.(\\d{2})\\.\\*`, ([pr, pc, tt]) => { const [p, r] = split(pr!); return `${ID}/8006/${gtin(p, r)}${pc}${tt}`; }],
  ['urn:epc:idpat:upui:', `${prefixed(13)}\\.\\*`, ([pr]) => { const [p, r] = split(pr!); return `${ID}/01/${gtin(p, r)}`; }],
];
const EPC_MATCHERS = EPC_RULES.map(([scheme, pattern, build]) => ({ scheme, re: new RegExp(`^${pattern}$`), build }));

function epcToDigitalLink(uri: string): string | undefined {
  for (const { scheme, re, build } of EPC_MATCHERS) {
    if (!uri.startsWith(scheme)) continue;
    const m = re.exec(uri.slice(scheme.length));
    return m ? build(m.slice(1)) : undefined;
  }
  return undefined;
}

/** Digital Link short names (GS1 Digital Link 1.x) and the AIs they stand for. */
const SHORT_NAMES: Record<string, string> = {
  gtin: '01', itip: '8006', cpid: '8010', gln: '414', party: '417', gsrnp: '8017', gsrn: '8018', gcn: '255',
  sscc: '00', gdti: '253', ginc: '401', gsin: '402', grai: '8003', giai: '8004', cpv: '22', lot: '10', ser: '21',
};
const PRIMARY_KEYS = new Set(['01', '8006', '8010', '414', '417', '8017', '8018', '255', '00', '253', '401', '402', '8003', '8004']);

/** A value of a Digital Link path (decoded): CSET 82 characters. */
const X = (max: number) => `[!-"%-/0-9:-?A-Z_a-z]{1,${max}}`;
/** The constrained canonical forms the hash admits (the finest identification level of each key). */
const CANONICAL = new RegExp(
  '^(?:' +
    [
      '00/\\d{18}',
      `01/\\d{14}(?:/(?:21|10)/${X(20)}|/235/${X(28)})?`,
      `253/\\d{13}${X(17).replace('{1,', '{0,')}`,
      '255/\\d{13}\\d{0,12}',
      `401/${X(30)}`,
      '402/\\d{17}',
      `414/\\d{13}(?:/254/${X(20)})?`,
      '417/\\d{13}',
      `8003/\\d{14}${X(16).replace('{1,', '{0,')}`,
      `8004/${X(30)}`,
      `8006/\\d{18}(?:/(?:21|10)/${X(20)})?`,
      '8010/[%\\-0-9A-Z]{1,30}(?:/8011/\\d{1,12})?',
      '8017/\\d{18}',
      '8018/\\d{18}',
    ].join('|') +
    ')$',
);

function digitalLinkToCanonical(uri: string): string | undefined {
  const m = /^https?:\/\/[^/?#]+((?:\/[^/?#]*)*)(?:\?[^#]*)?(?:#.*)?$/i.exec(uri);
  if (!m) return undefined;
  const segments = m[1]!.split('/').slice(1);
  if (segments.at(-1) === '') segments.pop();
  const start = segments.findIndex((s, i) => PRIMARY_KEYS.has(SHORT_NAMES[s] ?? s) && /^\d{4}/.test(segments[i + 1] ?? ''));
  if (start < 0 || (segments.length - start) % 2 !== 0) return undefined;
  const pairs = new Map<string, string>();
  for (let i = start; i < segments.length; i += 2) {
    const value = dlValue(segments[i + 1]!);
    if (value === undefined) return undefined;
    pairs.set(SHORT_NAMES[segments[i]!] ?? segments[i]!, value);
  }
  const [key, keyValue] = pairs.entries().next().value as [string, string];
  let main = keyValue;
  if (key === '01' && /^(?:\d{8}|\d{12}|\d{13})$/.test(main)) main = main.padStart(14, '0');
  pairs.delete('22');
  if (pairs.has('21')) pairs.delete('10');
  const rest = [...pairs].slice(1).map(([ai, v]) => `/${ai}/${v}`).join('');
  const path = `${key}/${main}${rest}`;
  // Value lengths and characters are checked on the decoded text; escapes count as one character.
  return CANONICAL.test(path.replace(/%[0-9A-F]{2}/g, '%')) ? `${ID}/${path}` : undefined;
}

/** The constrained canonical GS1 Digital Link of an EPC URI or Digital Link, or undefined when it is neither. */
export function canonicalDigitalLink(value: string): string | undefined {
  if (value.startsWith('urn:epc:')) return epcToDigitalLink(value);
  if (/^https?:\/\//i.test(value)) return digitalLinkToCanonical(value);
  return undefined;
}
