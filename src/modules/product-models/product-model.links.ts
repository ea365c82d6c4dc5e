import { z } from 'zod';
import { BadInputError } from '../../errors/app-error.js';
import { httpsUrl } from './product-model.dpp.js';

/** The GS1 Web Vocabulary's namespace: link types are `gs1:<name>`, i.e. `https://gs1.org/voc/<name>`. */
export const GS1_VOC = 'https://gs1.org/voc/';

/**
 * Link types of the GS1 Web Vocabulary (gs1/WebVoc `currentLinkTypes.json`) a brand may point at a page of
 * its own. Left out: the types this resolver answers itself or that only a resolver may use (defaultLink,
 * defaultLinkMulti, handledBy, verificationService) and the deprecated productSustainabilityInfo.
 */
export const BRAND_LINK_TYPES = [
  'activityIdeas', 'allergenInfo', 'appDownload', 'brandHomepageClinical', 'brandHomepagePatient', 'careersInfo',
  'certificationInfo', 'consumerHandlingStorageInfo', 'epcis', 'epil', 'eventsInfo', 'faqs', 'hasRetailers', 'homepage',
  'ingredientsInfo', 'instructions', 'jws', 'leaveReview', 'locationInfo', 'logisticsInfo', 'loyaltyProgram', 'masterData',
  'menuInfo', 'nutritionalInfo', 'openingHoursInfo', 'paymentLink', 'pip', 'promotion', 'purchaseSuppliesOrAccessories',
  'quickStartGuide', 'recallStatus', 'recipeInfo', 'registerProduct', 'registryEntry', 'relatedImage', 'relatedVideo',
  'review', 'safetyInfo', 'scheduleTime', 'serviceInfo', 'smartLabel', 'smpc', 'socialMedia', 'statisticInfo', 'subscribe',
  'support', 'sustainabilityInfo', 'traceability', 'tutorial', 'userAgreement', 'whatsInTheBox',
] as const;

/** A page the brand publishes for one link type of its product model; the resolver redirects to it (307). */
export type ProductLink = { linkType: string; href: string; title: string; lang?: string };

/** At most this many links per model (a linkset is answered whole on every resolve). */
export const MAX_PRODUCT_LINKS = 20;

/** `gs1:pip`, `https://gs1.org/voc/pip` or `https://ref.gs1.org/voc/pip` → `pip`; anything else → null. */
export function gs1LinkTypeName(value: string): string | null {
  const m = /^(?:gs1:|https:\/\/(?:ref\.|www\.)?gs1\.org\/voc\/)([A-Za-z]+)$/.exec(value.trim());
  return m ? m[1]! : null;
}

const BRAND_TYPES: ReadonlySet<string> = new Set(BRAND_LINK_TYPES);

const link = z.strictObject({
  linkType: z
    .string()
    .transform((v) => gs1LinkTypeName(v))
    .refine((name): name is string => name !== null && BRAND_TYPES.has(name), 'must be a GS1 link type a brand may set (gs1:pip, gs1:instructions, …; not defaultLink or verificationService)')
    .transform((name) => `gs1:${name}`),
  href: httpsUrl,
  title: z.string().trim().min(1).max(200),
  /** ISO 639-1, optionally with a region (`en`, `en-GB`): the form GS1's linkset schema takes for hreflang. */
  lang: z
    .string()
    .trim()
    .regex(/^[A-Za-z]{2}(?:-[A-Za-z]{2})?$/, 'must be a language code such as en or en-GB')
    .transform((l) => (l.length === 2 ? l.toLowerCase() : `${l.slice(0, 2).toLowerCase()}-${l.slice(3).toUpperCase()}`))
    .optional(),
});

const links = z
  .array(link)
  .max(MAX_PRODUCT_LINKS)
  .refine((all) => new Set(all.map((l) => `${l.linkType} ${l.lang ?? ''}`)).size === all.length, 'one link per link type and language');

/**
 * Validates a model's brand links: GS1 link types (normalised to `gs1:<name>`), https targets, a title each
 * (GS1 requires one), an optional language. BAD_USER_INPUT naming every problem by path (`links[0].href`).
 */
export function parseProductLinks(value: unknown): ProductLink[] {
  const result = links.safeParse(value);
  if (result.success) return result.data.map(({ lang, ...l }) => (lang ? { ...l, lang } : l));
  const issues = result.error.issues.map((i) => ({ path: i.path.reduce<string>((out, k) => (typeof k === 'number' ? `${out}[${k}]` : `${out}.${String(k)}`), 'links'), message: i.message }));
  throw new BadInputError(`Invalid links: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { field: 'links', issues });
}
