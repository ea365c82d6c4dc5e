// The few calls the JSON-LD tests make into packages that ship no types (jsonld 9,
// @digitalbazaar/credentials-context 3); @types/jsonld describes jsonld 1.5 and lacks `safe`.
declare module 'jsonld' {
  export type RemoteDocument = { contextUrl: string | null; documentUrl: string; document: unknown };
  export type DocumentLoader = (url: string) => Promise<RemoteDocument>;
  export type JsonLdEvent = { code: string; level: string; message: string; details?: Record<string, unknown> };
  export type EventHandler = (args: { event: JsonLdEvent; next: () => void }) => void;
  export type Options = { documentLoader?: DocumentLoader; safe?: boolean; eventHandler?: EventHandler; format?: string };
  const jsonld: {
    expand(input: unknown, options?: Options): Promise<Record<string, unknown>[]>;
    toRDF(input: unknown, options?: Options): Promise<unknown>;
  };
  export default jsonld;
}

declare module '@digitalbazaar/credentials-context' {
  /** Context URL → context document, as the W3C publishes them. */
  export const contexts: Map<string, unknown>;
}
