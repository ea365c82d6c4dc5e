import { readFileSync } from 'node:fs';
import { contexts } from '@digitalbazaar/credentials-context';
import jsonld, { type DocumentLoader, type JsonLdEvent } from 'jsonld';

const VC_V2 = 'https://www.w3.org/ns/credentials/v2';

/** Our context as shipped in the package, read from the file itself (not through the module that serves it). */
export const SHIPPED_DPP_CONTEXT_FILE = new URL('../../src/modules/passports/contexts/dpp-v1.jsonld', import.meta.url);
export const shippedDppContext = (): { '@context': Record<string, unknown> } => JSON.parse(readFileSync(SHIPPED_DPP_CONTEXT_FILE, 'utf8'));

/**
 * A JSON-LD document loader with no network: it serves the W3C VC 2.0 context as
 * `@digitalbazaar/credentials-context` ships it and our shipped context at `dppContextUrl`, and
 * refuses every other URL.
 */
export function shippedContextsLoader(dppContextUrl: string): DocumentLoader {
  const ours = shippedDppContext();
  return async (url) => {
    if (url === VC_V2) return { contextUrl: null, documentUrl: url, document: contexts.get(VC_V2) };
    if (url === dppContextUrl) return { contextUrl: null, documentUrl: url, document: ours };
    throw new Error(`this loader serves only the shipped contexts, not ${url}`);
  };
}

/**
 * jsonld's safe mode over `doc`: expansion, then conversion to RDF, each throwing on any term or
 * type the contexts do not define, any relative IRI and any value that would be dropped.
 */
export async function expandSafely(doc: unknown, documentLoader: DocumentLoader): Promise<Record<string, unknown>[]> {
  const expanded = await jsonld.expand(doc, { safe: true, documentLoader });
  await jsonld.toRDF(doc, { safe: true, documentLoader, format: 'application/n-quads' });
  return expanded;
}

/** What a lenient expansion of `doc` reports and drops (the warnings safe mode turns into errors). */
export async function expansionWarnings(doc: unknown, documentLoader: DocumentLoader): Promise<JsonLdEvent[]> {
  const events: JsonLdEvent[] = [];
  await jsonld.expand(doc, {
    documentLoader,
    eventHandler: ({ event, next }) => {
      if (event.level === 'warning') events.push(event);
      next();
    },
  });
  return events;
}
