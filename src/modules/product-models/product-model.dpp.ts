import countries from 'i18n-iso-countries';
import { z } from 'zod';
import { BadInputError } from '../../errors/app-error.js';

/**
 * Digital product passport (DPP) data of a product model, after the EU Ecodesign for Sustainable
 * Products Regulation (ESPR) information requirements: materials, substances of concern, repair,
 * disassembly, carbon footprint and documents. Every section is optional; every object is strict
 * (an unknown key is refused, so a typo never silently drops data).
 */

/** Largest accepted DPP, as UTF-8 JSON; bigger documents belong behind a document URL. */
export const DPP_MAX_BYTES = 64 * 1024;

/** Rounding slack when mass percentages are summed (e.g. three times 33.3333). */
const MASS_SUM_TOLERANCE = 100.0001;

const text = (max: number) => z.string().trim().min(1).max(max);
const percent = z.number().min(0).max(100);

/** Only https links: a passport is shown on public pages and must not point at mixed content or scripts. */
export const httpsUrl = z.url({ protocol: /^https$/, hostname: z.regexes.domain, error: 'must be an https URL' }).max(2048);

/** ISO 3166-1 alpha-2, normalised to upper case. */
const country = z
  .string()
  .trim()
  .toUpperCase()
  .refine((c) => /^[A-Z]{2}$/.test(c) && countries.isValid(c), 'must be an ISO 3166-1 alpha-2 country code');

/** English language names from the runtime's CLDR data; `fallback: 'none'` answers undefined for a code it does not know. */
const languageNames = new Intl.DisplayNames(['en'], { type: 'language', fallback: 'none' });

/**
 * ISO 639-1 two-letter language code, normalised to lower case, known to CLDR: every current code, and
 * the few withdrawn ones CLDR still names (iw, in, ji, jw, mo, sh, bh); `zz` and the like are refused.
 */
const language = z
  .string()
  .trim()
  .toLowerCase()
  .refine((c) => /^[a-z]{2}$/.test(c) && languageNames.of(c) !== undefined, 'must be a two-letter ISO 639-1 language code');

/**
 * True when `cas` is a CAS Registry Number (2-7 digits, 2 digits, check digit) whose check digit
 * holds: the sum of the other digits, weighted 1, 2, 3... from the right, modulo 10.
 */
export function isValidCasNumber(cas: string): boolean {
  const m = /^(\d{2,7})-(\d{2})-(\d)$/.exec(cas);
  if (!m) return false;
  const digits = m[1]! + m[2]!;
  let sum = 0;
  for (let i = digits.length - 1, w = 1; i >= 0; i--, w++) sum += (digits.charCodeAt(i) - 48) * w;
  return sum % 10 === Number(m[3]);
}

const casNumber = z
  .string()
  .trim()
  .refine(isValidCasNumber, 'must be a CAS Registry Number (e.g. 7732-18-5) with a correct check digit');

const material = z.strictObject({
  /** Material name, e.g. "aluminium 6061" or "recycled PET". */
  name: text(200),
  /** Share of the product's mass, 0..100. */
  massPercent: percent,
  /** Share of this material that is recycled content, 0..100. */
  recycledContentPercent: percent.optional(),
  renewable: z.boolean().optional(),
  /** Country of origin of the material. */
  origin: country.optional(),
});

const substanceOfConcern = z.strictObject({
  name: text(200),
  casNumber: casNumber.optional(),
  /** Concentration by mass in the product (or the named location), 0..100. */
  concentrationPercent: percent.optional(),
  /** Where in the product the substance sits, e.g. "battery pack". */
  location: text(200).optional(),
});

const repair = z.strictObject({
  /** Repairability score, 0..10 (as the French / EU repairability indices). */
  repairabilityScore: z.number().min(0).max(10).optional(),
  instructionsUrl: httpsUrl.optional(),
  /** How many years spare parts stay available after the model leaves the market. */
  sparePartsAvailableYears: z.number().int().min(0).max(50).optional(),
  serviceNetworkUrl: httpsUrl.optional(),
});

const disassembly = z.strictObject({
  instructionsUrl: httpsUrl.optional(),
  toolsRequired: z.array(text(200)).max(50).optional(),
  steps: z.array(text(2000)).max(100).optional(),
});

const carbonFootprint = z.strictObject({
  /** Product carbon footprint in kilograms of CO2 equivalent per unit. */
  kgCO2e: z.number().min(0).max(1e9),
  /** Method or standard followed, e.g. "ISO 14067" or "PEF 3.1". */
  method: text(200).optional(),
  scope: z.enum(['cradle-to-gate', 'cradle-to-grave']).optional(),
});

export const DPP_DOCUMENT_TYPES = ['MANUAL', 'DECLARATION_OF_CONFORMITY', 'SAFETY', 'CERTIFICATE', 'OTHER'] as const;

const document = z.strictObject({
  title: text(200),
  url: httpsUrl,
  type: z.enum(DPP_DOCUMENT_TYPES),
  language: language.optional(),
});

/** The DPP data of a product model; see the README for an example. */
export const dppSchema = z.strictObject({
  materials: z
    .array(material)
    .max(200)
    .superRefine((list, ctx) => {
      const total = list.reduce((sum, m) => sum + m.massPercent, 0);
      if (total > MASS_SUM_TOLERANCE) {
        ctx.addIssue({ code: 'custom', message: `mass percentages add up to ${Number(total.toFixed(4))}, more than 100` });
      }
    })
    .optional(),
  substancesOfConcern: z.array(substanceOfConcern).max(200).optional(),
  repair: repair.optional(),
  disassembly: disassembly.optional(),
  carbonFootprint: carbonFootprint.optional(),
  documents: z.array(document).max(50).optional(),
});

export type Dpp = z.infer<typeof dppSchema>;

/** `dpp.materials[0].massPercent` from a zod issue path. */
function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : `${out}.${String(key)}`), 'dpp');
}

/**
 * Validates and normalises DPP data (trimmed strings, upper-case countries, lower-case languages).
 * Throws BadInputError naming every problem with its path, e.g. `dpp.materials[0].massPercent: ...`.
 */
export function parseDpp(value: unknown): Dpp {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    json = undefined;
  }
  if (json === undefined) throw new BadInputError('dpp: must be a JSON object', { field: 'dpp' });
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > DPP_MAX_BYTES) {
    throw new BadInputError(`dpp: is ${bytes} bytes of JSON, more than the ${DPP_MAX_BYTES} allowed`, { field: 'dpp', maxBytes: DPP_MAX_BYTES });
  }
  const result = dppSchema.safeParse(value);
  if (result.success) return result.data;
  // One URL can fail several checks with the same message; say it once.
  const seen = new Set<string>();
  const issues = result.error.issues
    .map((i) => ({ path: formatPath(i.path), message: i.message }))
    .filter((i) => !seen.has(`${i.path}: ${i.message}`) && Boolean(seen.add(`${i.path}: ${i.message}`)));
  throw new BadInputError(`Invalid dpp: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { field: 'dpp', issues });
}

/** Drops undefined keys so views compare and serialise cleanly. */
function compact<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** What anyone may see: material names and shares with recycled content, carbon footprint, documents, repairability score. */
export type PublicDpp = {
  materials?: { name: string; massPercent: number; recycledContentPercent?: number }[];
  carbonFootprint?: Dpp['carbonFootprint'];
  documents?: Dpp['documents'];
  repair?: { repairabilityScore?: number };
};

/** The public tier of a DPP: what consumers, retailers and other brands see. */
export function publicDpp(dpp: Dpp): PublicDpp {
  const repairabilityScore = dpp.repair?.repairabilityScore;
  return compact({
    materials: dpp.materials?.map((m) => compact({ name: m.name, massPercent: m.massPercent, recycledContentPercent: m.recycledContentPercent }) as NonNullable<PublicDpp['materials']>[number]),
    carbonFootprint: dpp.carbonFootprint,
    documents: dpp.documents,
    repair: repairabilityScore === undefined ? undefined : { repairabilityScore },
  });
}

/** The restricted tier: the sections holding detail the public view leaves out, each in full. */
export type RestrictedDpp = Pick<Dpp, 'materials' | 'substancesOfConcern' | 'disassembly' | 'repair'>;

/**
 * The restricted tier of a DPP (substances of concern with their locations, disassembly, repair
 * details, material origins), section by section in full, so `{ ...publicDpp(d), ...restrictedDpp(d) }`
 * rebuilds `d`.
 */
export function restrictedDpp(dpp: Dpp): RestrictedDpp {
  return compact({
    materials: dpp.materials,
    substancesOfConcern: dpp.substancesOfConcern,
    disassembly: dpp.disassembly,
    repair: dpp.repair,
  });
}
