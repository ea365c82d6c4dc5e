/**
 * This resolver's own link types (`dpp:`), listed in `/.well-known/gs1resolver`, since GS1's web vocabulary has no
 * battery passport type yet. Their namespace is under the resolver root (`<root>/voc/dpp/`), an https IRI as GS1's
 * linkset schema requires of link type keys (it takes no URN), and each type's IRI answers a short description.
 */
export const DPP_LINK_PATH = '/voc/dpp/';
export const DPP_LINK_PREFIX = 'dpp:';

/** The `dpp:` namespace on the resolver root `root` (scheme, host, path prefix; no trailing slash). */
export const dppLinkTypes = (root: string) => `${root}${DPP_LINK_PATH}`;

/**
 * The namespace `dpp:` first had: the project's vocabulary namespace (README "Passport credential vocabulary"). Still
 * understood in `?linkType=`, so links written with it keep working; no longer a linkset key (GS1's schema refuses URNs).
 */
export const LEGACY_DPP_LINK_TYPES = 'urn:uuid:ae8c843a-59ea-4a67-80e5-c6ebb4e22505#';

/** The `dpp:` link types and what their IRIs answer (a description, JSON). */
export const DPP_LINK_TYPE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  batteryPass:
    "A battery's EU battery passport (Regulation (EU) 2023/1542, Art. 77), in the Battery Pass 1.2.0 data model: JSON holding what the caller's " +
    'Annex XIII group may read, or, for a browser, the public part (Annex XIII point 1) in plain words.',
};

/** `?linkType=` values that answer a battery's Digital Link with its battery passport: bare, as a CURIE, as the IRI (either namespace). */
export function batteryPassLinkTypes(root: string): ReadonlySet<string> {
  return new Set(['batteryPass', `${DPP_LINK_PREFIX}batteryPass`, `${dppLinkTypes(root)}batteryPass`, `${LEGACY_DPP_LINK_TYPES}batteryPass`]);
}
