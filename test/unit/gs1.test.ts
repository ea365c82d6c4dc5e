import { describe, it, expect } from 'vitest';
import {
  Gs1Error,
  formatDigitalLink,
  generateSerial,
  gtinCheckDigit,
  gtinHasCompanyPrefix,
  isUrlSafeSerial,
  isValidGtin,
  isValidSerial,
  parseDigitalLink,
  parseGln,
  parseGs1Link,
  formatGs1Link,
  parseGtin,
  parseIdentifier,
  parseSgtinUri,
  sgtinUri,
  validateCompanyPrefix,
} from '../../src/gs1/index.js';

const CSET82 = `!"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz`;
const GTIN = '09506000134352';

function gs1Reason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(Gs1Error);
    return (err as Gs1Error).reason;
  }
  throw new Error('expected a Gs1Error');
}

describe('GTIN', () => {
  it.each([
    ['4006381333931', true],
    ['4006381333932', false],
    ['036000291452', true],
    ['036000291453', false],
    ['96385074', true],
    ['96385075', false],
    ['80614141123458', true],
    [GTIN, true],
  ])('validates the check digit of %s', (gtin, valid) => {
    expect(isValidGtin(gtin)).toBe(valid);
  });

  it('computes mod-10 check digits', () => {
    expect(gtinCheckDigit('400638133393')).toBe(1);
    expect(gtinCheckDigit('03600029145')).toBe(2);
    expect(gtinCheckDigit('9638507')).toBe(4);
    expect(gtinCheckDigit('8061414112345')).toBe(8);
    expect(gtinCheckDigit('000000000000')).toBe(0);
  });

  it('normalises to GTIN-14 with left zero padding and trims', () => {
    expect(parseGtin('4006381333931')).toBe('04006381333931');
    expect(parseGtin('036000291452')).toBe('00036000291452');
    expect(parseGtin(' 96385074\n')).toBe('00000096385074');
    expect(parseGtin('80614141123458')).toBe('80614141123458');
  });

  it('reports why a GTIN is rejected', () => {
    expect(gs1Reason(() => parseGtin('4006381333932'))).toBe('CHECK_DIGIT');
    expect(gs1Reason(() => parseGtin('40063813339A1'))).toBe('CHARSET');
    expect(gs1Reason(() => parseGtin('123456789012345'))).toBe('LENGTH');
    expect(gs1Reason(() => parseGtin('1234567890'))).toBe('LENGTH');
    expect(gs1Reason(() => parseGtin(''))).toBe('LENGTH');
    expect(gs1Reason(() => gtinCheckDigit('12a'))).toBe('CHARSET');
  });

  it('checks company prefix ownership after the indicator digit', () => {
    expect(gtinHasCompanyPrefix('80614141123458', '0614141')).toBe(true);
    expect(gtinHasCompanyPrefix('80614141123458', '061414112345')).toBe(true);
    expect(gtinHasCompanyPrefix('80614141123458', '8061414')).toBe(false);
    expect(gtinHasCompanyPrefix('80614141123458', '0614142')).toBe(false);
    expect(gtinHasCompanyPrefix('4006381333931', '4006381')).toBe(true);
    expect(gtinHasCompanyPrefix('4006381333931', '400639')).toBe(false);
  });

  it('validates company prefixes as 6 to 12 digits', () => {
    expect(validateCompanyPrefix('061414')).toBe('061414');
    expect(validateCompanyPrefix('061414112345')).toBe('061414112345');
    expect(gs1Reason(() => validateCompanyPrefix('06141'))).toBe('LENGTH');
    expect(gs1Reason(() => validateCompanyPrefix('0614141123456'))).toBe('LENGTH');
    expect(gs1Reason(() => validateCompanyPrefix('06141A'))).toBe('CHARSET');
    expect(gs1Reason(() => gtinHasCompanyPrefix(GTIN, '123'))).toBe('LENGTH');
  });
});

describe('GLN', () => {
  it("accepts GS1's example GLN and refuses a wrong check digit, length or character, with the reason", () => {
    // GS1 General Specifications' example GLN of a company: 0614141000012 (check digit 2).
    expect(parseGln(' 0614141000012 ')).toBe('0614141000012');
    for (const [bad, reason] of [['0614141000013', 'CHECK_DIGIT'], ['061414100001', 'LENGTH'], ['06141410000A2', 'CHARSET']] as const) {
      expect(() => parseGln(bad)).toThrow(Gs1Error);
      try {
        parseGln(bad);
      } catch (e) {
        expect((e as Gs1Error).reason, bad).toBe(reason);
      }
    }
  });
});

describe('serials', () => {
  it('generates 16 Crockford symbols that are valid, URL-safe serials', () => {
    const serial = generateSerial();
    expect(serial).toMatch(/^[0-9A-HJKMNP-TV-Z]{16}$/);
    expect(isValidSerial(serial)).toBe(true);
    expect(isUrlSafeSerial(serial)).toBe(true);
  });

  it('never repeats across 10,000 generations and consecutive serials differ', () => {
    const a = generateSerial();
    const b = generateSerial();
    expect(a).not.toBe(b);
    const seen = new Set<string>();
    const used = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const serial = generateSerial();
      expect(serial).toHaveLength(16);
      seen.add(serial);
      for (const ch of serial) used.add(ch);
    }
    expect(seen.size).toBe(10_000);
    // Every Crockford symbol (digits and capitals without I, L, O and U), nothing else.
    expect([...used].sort().join('')).toBe('0123456789ABCDEFGHJKMNPQRSTVWXYZ');
  });

  it('accepts 1 to 20 characters of CSET 82 only', () => {
    expect(CSET82).toHaveLength(82);
    for (const ch of CSET82) expect(isValidSerial(ch)).toBe(true);
    expect(isValidSerial('A'.repeat(20))).toBe(true);
    expect(isValidSerial('A'.repeat(21))).toBe(false);
    expect(isValidSerial('')).toBe(false);
    for (const bad of [' ', '#', '$', '@', '[', '\\', ']', '^', '`', '{', '|', '}', '~', 'é', '\n']) {
      expect(isValidSerial(`AB${bad}`)).toBe(false);
    }
  });

  it('flags serials that need percent-encoding in a URI path', () => {
    expect(isUrlSafeSerial('AB-12_c.9')).toBe(true);
    expect(isUrlSafeSerial('A/B')).toBe(false);
    expect(isUrlSafeSerial('A+B')).toBe(false);
    expect(isUrlSafeSerial('A~B')).toBe(false);
    expect(isUrlSafeSerial('')).toBe(false);
  });
});

describe('EPC SGTIN pure identity URI', () => {
  it('matches the Tag Data Standard example both ways', () => {
    expect(sgtinUri('80614141123458', '6789', 7)).toBe('urn:epc:id:sgtin:0614141.812345.6789');
    expect(parseSgtinUri('urn:epc:id:sgtin:0614141.812345.6789')).toEqual({
      gtin14: '80614141123458',
      serial: '6789',
      companyPrefixLength: 7,
    });
  });

  it('round trips across every company prefix length', () => {
    for (let length = 6; length <= 12; length++) {
      const uri = sgtinUri(GTIN, 'X1', length);
      expect(parseSgtinUri(uri)).toEqual({ gtin14: GTIN, serial: 'X1', companyPrefixLength: length });
    }
    expect(sgtinUri('4006381333931', 'A', 7)).toBe('urn:epc:id:sgtin:4006381.033393.A');
  });

  it('percent-encodes odd CSET 82 serials per TDS and decodes them back', () => {
    const serial = `a"%&/<>?!'()*+,-.:;=`;
    const uri = sgtinUri(GTIN, serial, 7);
    expect(uri).toBe(`urn:epc:id:sgtin:9506000.013435.a%22%25%26%2F%3C%3E%3F!'()*+,-.:;=`);
    expect(parseSgtinUri(uri).serial).toBe(serial);
    expect(parseSgtinUri('urn:epc:id:sgtin:0614141.812345.a%2fb').serial).toBe('a/b');
    expect(sgtinUri(GTIN, 'A_b.1', 7)).toBe('urn:epc:id:sgtin:9506000.013435.A_b.1');
    expect(parseSgtinUri('urn:epc:id:sgtin:9506000.013435.A_b.1').serial).toBe('A_b.1');
  });

  it('rejects malformed SGTIN URIs', () => {
    expect(gs1Reason(() => parseSgtinUri('urn:epc:id:sgtin:0614141.81234.6789'))).toBe('LENGTH');
    expect(gs1Reason(() => parseSgtinUri('urn:epc:id:sgtin:06141.8123456789.1'))).toBe('LENGTH');
    expect(gs1Reason(() => parseSgtinUri('urn:epc:id:sgtin:0614141.812345'))).toBe('FORMAT');
    expect(gs1Reason(() => parseSgtinUri('urn:epc:id:sgtin:0614141.812345.a/b'))).toBe('CHARSET');
    expect(gs1Reason(() => parseSgtinUri('urn:epc:id:sgtin:0614141.812345.%zz'))).toBe('CHARSET');
    expect(gs1Reason(() => parseSgtinUri('urn:epc:id:sgtin:0614141.812345.%E0%A4'))).toBe('FORMAT');
    expect(gs1Reason(() => parseSgtinUri('urn:epc:id:sgtin:0614141.812345.%7E'))).toBe('CHARSET');
    expect(gs1Reason(() => parseSgtinUri(`urn:epc:id:sgtin:0614141.812345.${'A'.repeat(21)}`))).toBe('LENGTH');
    expect(gs1Reason(() => parseSgtinUri('urn:epc:id:sgtin:061414A.812345.1'))).toBe('CHARSET');
    expect(gs1Reason(() => parseSgtinUri('urn:epc:id:sgln:0614141.12345.0'))).toBe('FORMAT');
    expect(gs1Reason(() => sgtinUri(GTIN, '1', 5))).toBe('LENGTH');
    expect(gs1Reason(() => sgtinUri(GTIN, 'a b', 7))).toBe('CHARSET');
  });
});

describe('GS1 Digital Link', () => {
  it('formats the canonical path with https by default', () => {
    expect(formatDigitalLink({ host: 'id.example.com', gtin: '9506000134352', serial: 'ABC123' })).toBe(
      `https://id.example.com/01/${GTIN}/21/ABC123`,
    );
  });

  it('keeps an explicit scheme, port and path prefix and strips a trailing slash', () => {
    expect(formatDigitalLink({ host: 'http://localhost:4000/', gtin: GTIN, serial: 'S1' })).toBe(
      `http://localhost:4000/01/${GTIN}/21/S1`,
    );
    expect(formatDigitalLink({ host: 'example.com:8443/dpp', gtin: GTIN, serial: 'S1' })).toBe(
      `https://example.com:8443/dpp/01/${GTIN}/21/S1`,
    );
  });

  it('puts the lot before the serial and round trips lot and sig', () => {
    const sig = 'MEUCIQDk-_0aZ9';
    const uri = formatDigitalLink({ host: 'id.example.com', gtin: GTIN, serial: 'S1', lot: 'LOT-7', sig });
    expect(uri).toBe(`https://id.example.com/01/${GTIN}/10/LOT-7/21/S1?sig=${sig}`);
    expect(parseDigitalLink(uri)).toEqual({
      gtin: GTIN,
      serial: 'S1',
      lot: 'LOT-7',
      sig,
      host: 'id.example.com',
      base: 'https://id.example.com',
    });
  });

  it('round trips a generated serial through the parsed base', () => {
    const serial = generateSerial();
    const uri = formatDigitalLink({ host: 'http://localhost:4000/r', gtin: '96385074', serial, cpv: '2A' });
    const parsed = parseDigitalLink(uri);
    expect(parsed).toMatchObject({ gtin: '00000096385074', serial, cpv: '2A', host: 'localhost:4000' });
    expect(formatDigitalLink({ host: parsed.base, gtin: parsed.gtin, serial, cpv: '2A' })).toBe(uri);
  });

  it('percent-encodes odd CSET 82 serials and lots in path segments', () => {
    const serial = `A/B?C%D"<>&`;
    const lot = `x!'()*+,:;=`;
    const uri = formatDigitalLink({ host: 'id.example.com', gtin: GTIN, serial, lot });
    expect(uri).toBe(
      `https://id.example.com/01/${GTIN}/10/x%21%27%28%29%2A%2B%2C%3A%3B%3D/21/A%2FB%3FC%25D%22%3C%3E%26`,
    );
    expect(parseDigitalLink(uri)).toMatchObject({ serial, lot });
    for (const ch of CSET82) {
      expect(parseDigitalLink(formatDigitalLink({ host: 'h.example', gtin: GTIN, serial: `${ch}0` })).serial).toBe(
        `${ch}0`,
      );
    }
  });

  it('parses and formats links above the serial (product and lot level), which parseDigitalLink refuses', () => {
    expect(parseGs1Link('https://id.example.com/01/4006381333931')).toEqual({ gtin: '04006381333931', host: 'id.example.com', base: 'https://id.example.com' });
    expect(parseGs1Link('https://id.example.com/01/04006381333931/10/L%2F1?sig=abc')).toMatchObject({ gtin: '04006381333931', lot: 'L/1', sig: 'abc' });
    expect(parseGs1Link('https://id.example.com/01/04006381333931/10/L1/21/S1').serial).toBe('S1');
    expect(() => parseDigitalLink('https://id.example.com/01/04006381333931/10/L1')).toThrow(/no \/21\/ serial/);
    expect(() => parseGs1Link('https://id.example.com/01/04006381333931/21/S1/10/L1')).toThrow(/out of order/);
    expect(formatGs1Link({ host: 'id.example.com', gtin: '4006381333931', lot: 'L/1' })).toBe('https://id.example.com/01/04006381333931/10/L%2F1');
    expect(formatGs1Link({ host: 'id.example.com', gtin: '4006381333931', serial: 'S1' })).toBe('https://id.example.com/01/04006381333931/21/S1');
  });

  it('accepts any host, path prefix, short GTINs, the 22 qualifier, other query params and fragments', () => {
    expect(
      parseDigitalLink('HTTP://Resolver.Example.org:8080/a/b/01/4006381333931/22/V1/10/L1/21/x%2Fy?foo=1&sig=abc#frag'),
    ).toEqual({
      gtin: '04006381333931',
      serial: 'x/y',
      cpv: 'V1',
      lot: 'L1',
      sig: 'abc',
      host: 'resolver.example.org:8080',
      base: 'http://resolver.example.org:8080/a/b',
    });
    expect(parseDigitalLink('https://id.example.com/01/036000291452/21/7').gtin).toBe('00036000291452');
  });

  it('parses either identifier syntax', () => {
    expect(parseIdentifier('urn:epc:id:sgtin:0614141.812345.6789')).toEqual({ gtin: '80614141123458', serial: '6789' });
    expect(parseIdentifier(`https://id.example.com/01/${GTIN}/10/L%2F1/21/S1?sig=xyz`)).toEqual({
      gtin: GTIN,
      serial: 'S1',
      lot: 'L/1',
      sig: 'xyz',
    });
    const epc = sgtinUri(GTIN, `a"b`, 7);
    const dl = formatDigitalLink({ host: 'id.example.com', gtin: GTIN, serial: `a"b` });
    expect(parseIdentifier(epc)).toEqual(parseIdentifier(dl));
  });

  const malformed: Array<[string, string, string]> = [
    ['wrong check digit', `https://id.example.com/01/09506000134353/21/S1`, 'CHECK_DIGIT'],
    ['10,000-char serial', `https://id.example.com/01/${GTIN}/21/${'A'.repeat(10_000)}`, 'LENGTH'],
    ['21-char serial', `https://id.example.com/01/${GTIN}/21/${'A'.repeat(21)}`, 'LENGTH'],
    ['ftp scheme', `ftp://id.example.com/01/${GTIN}/21/S1`, 'FORMAT'],
    ['no scheme', `id.example.com/01/${GTIN}/21/S1`, 'FORMAT'],
    ['missing 21', `https://id.example.com/01/${GTIN}`, 'FORMAT'],
    ['missing 01', `https://id.example.com/21/S1`, 'FORMAT'],
    ['21 before 01', `https://id.example.com/21/S1/01/${GTIN}`, 'FORMAT'],
    ['letters in GTIN', `https://id.example.com/01/0950600013435A/21/S1`, 'CHARSET'],
    ['15-digit GTIN', `https://id.example.com/01/095060001343520/21/S1`, 'LENGTH'],
    ['empty string', '', 'FORMAT'],
    ['empty serial', `https://id.example.com/01/${GTIN}/21/`, 'LENGTH'],
    ['trailing slash', `https://id.example.com/01/${GTIN}/21/S1/`, 'FORMAT'],
    ['serial outside CSET 82', `https://id.example.com/01/${GTIN}/21/S%7E1`, 'CHARSET'],
    ['unencoded space', `https://id.example.com/01/${GTIN}/21/S 1`, 'FORMAT'],
    ['bad percent-encoding', `https://id.example.com/01/${GTIN}/21/S%E0%A41`, 'FORMAT'],
    ['lot after serial', `https://id.example.com/01/${GTIN}/21/S1/10/L1`, 'FORMAT'],
    ['repeated serial', `https://id.example.com/01/${GTIN}/21/S1/21/S2`, 'FORMAT'],
    ['unknown path AI', `https://id.example.com/01/${GTIN}/21/S1/99/X`, 'FORMAT'],
    ['overlong URI', `https://id.example.com/01/${GTIN}/21/S1?pad=${'x'.repeat(2100)}`, 'LENGTH'],
    ['duplicate sig', `https://id.example.com/01/${GTIN}/21/S1?sig=abc&sig=def`, 'FORMAT'],
    ['sig not base64url', `https://id.example.com/01/${GTIN}/21/S1?sig=a+b/c=`, 'FORMAT'],
    ['empty sig', `https://id.example.com/01/${GTIN}/21/S1?sig=`, 'FORMAT'],
    ['credentials in authority', `https://user@id.example.com/01/${GTIN}/21/S1`, 'FORMAT'],
    ['missing host', `https:///01/${GTIN}/21/S1`, 'FORMAT'],
    ['dot serial', `https://id.example.com/01/${GTIN}/21/..`, 'FORMAT'],
    ['bad EPC URI', 'urn:epc:id:sgtin:0614141.812345.', 'LENGTH'],
  ];

  it.each(malformed)('rejects %s', (_name, input, reason) => {
    expect(gs1Reason(() => parseIdentifier(input))).toBe(reason);
    if (!input.startsWith('urn:')) expect(() => parseDigitalLink(input)).toThrow(Gs1Error);
  });

  it('rejects malformed formatter input', () => {
    expect(gs1Reason(() => formatDigitalLink({ host: 'h.example', gtin: '4006381333932', serial: 'S' }))).toBe(
      'CHECK_DIGIT',
    );
    expect(gs1Reason(() => formatDigitalLink({ host: 'h.example', gtin: GTIN, serial: 'A'.repeat(10_000) }))).toBe(
      'LENGTH',
    );
    expect(gs1Reason(() => formatDigitalLink({ host: 'h.example', gtin: GTIN, serial: '' }))).toBe('LENGTH');
    expect(gs1Reason(() => formatDigitalLink({ host: 'h.example', gtin: GTIN, serial: 'S', lot: 'a b' }))).toBe(
      'CHARSET',
    );
    expect(gs1Reason(() => formatDigitalLink({ host: 'ftp://h.example', gtin: GTIN, serial: 'S' }))).toBe('FORMAT');
    expect(gs1Reason(() => formatDigitalLink({ host: 'h.example?x=1', gtin: GTIN, serial: 'S' }))).toBe('FORMAT');
    expect(gs1Reason(() => formatDigitalLink({ host: '', gtin: GTIN, serial: 'S' }))).toBe('FORMAT');
    expect(gs1Reason(() => formatDigitalLink({ host: 'h.example', gtin: GTIN, serial: 'S', sig: 'a=' }))).toBe(
      'FORMAT',
    );
  });
});

describe('formatters for many units of one GTIN', () => {
  it('give the same URIs as the one-unit functions, and check every serial and signature', async () => {
    const { digitalLinkFormatter, formatDigitalLink, sgtinUri, sgtinUriFormatter, generateSerial } = await import('../../src/gs1/index.js');
    const link = digitalLinkFormatter({ host: 'id.example.com', gtin: '80614141123458', lot: 'L1/2%' });
    const epc = sgtinUriFormatter('80614141123458', 7);
    for (const serial of [generateSerial(), '6789', 'a%b!c', "x'y"]) {
      expect(link(serial)).toBe(formatDigitalLink({ host: 'id.example.com', gtin: '80614141123458', lot: 'L1/2%', serial }));
      expect(link(serial, 'AbC_-1')).toBe(formatDigitalLink({ host: 'id.example.com', gtin: '80614141123458', lot: 'L1/2%', serial, sig: 'AbC_-1' }));
      expect(epc(serial)).toBe(sgtinUri('80614141123458', serial, 7));
    }
    expect(epc('6789')).toBe('urn:epc:id:sgtin:0614141.812345.6789');
    expect(() => link('')).toThrow();
    expect(() => link('ok', 'not base64url!')).toThrow();
    expect(() => epc('x'.repeat(21))).toThrow();
  });
});
