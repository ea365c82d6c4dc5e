import { Gs1Error, gtinCheckDigit } from './gtin.js';

/**
 * Parses a GS1 Global Location Number (GLN, AI 414): 13 digits whose last is the GS1 mod-10 check digit.
 * GS1's identifier for a physical location such as a factory; answers it trimmed.
 */
export function parseGln(s: string): string {
  if (typeof s !== 'string') throw new Gs1Error('FORMAT', 'GLN must be a string');
  const gln = s.trim();
  if (!/^[0-9]+$/.test(gln)) throw new Gs1Error('CHARSET', 'GLN must contain digits only');
  if (gln.length !== 13) throw new Gs1Error('LENGTH', 'GLN must have 13 digits');
  if (gtinCheckDigit(gln.slice(0, -1)) !== gln.charCodeAt(12) - 48) throw new Gs1Error('CHECK_DIGIT', 'GLN check digit is wrong');
  return gln;
}
