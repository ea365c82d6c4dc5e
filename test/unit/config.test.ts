import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, Secret } from '../../src/config/config.js';

describe('configuration', () => {
  it('has working defaults: embedded database, port 4000, localhost WebAuthn', () => {
    const c = loadConfig({});
    expect(c.port).toBe(4000);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.dataDir).toBe('./.data');
    expect(c.webauthn).toEqual({ rpId: 'localhost', origins: ['http://localhost:4000'], rpName: 'Digital product passports', challengeTtlSeconds: 300, originsDefaulted: true });
    expect(c.owners).toEqual({ sessionTtlSeconds: 7 * 86_400, transferOfferTtlSeconds: 3 * 86_400 });
    expect(c.resolverHost).toBe('http://localhost:4000');
    expect(c.introspection).toBe(true);
    expect(c.apiKeyCacheMs).toBe(60_000);
    // Metrics are not served unless a token or a port of their own is configured.
    expect(c.metrics).toEqual({ token: undefined, port: undefined, host: '127.0.0.1' });
    expect(loadConfig({ DPP_METRICS_PORT: '9464', DPP_METRICS_HOST: '0.0.0.0', DPP_METRICS_TOKEN: 't'.repeat(24) }).metrics).toEqual({ token: 't'.repeat(24), port: 9464, host: '0.0.0.0' });
    expect(() => loadConfig({ DPP_METRICS_TOKEN: 'short' })).toThrow(/DPP_METRICS_TOKEN/);
    const key = 'ab'.repeat(32);
    expect(loadConfig({ NODE_ENV: 'production', DPP_MASTER_KEY: key }).introspection).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', DPP_MASTER_KEY: key, DPP_INTROSPECTION: 'true' }).introspection).toBe(true);
    expect(loadConfig({ DPP_MASTER_KEY: key }).masterKey).toEqual(Buffer.from(key, 'hex'));
  });

  it('reads every setting it documents', () => {
    const c = loadConfig({
      PORT: '8080',
      DATABASE_URL: 'postgres://u@db:5432/dpp',
      REDIS_URL: 'redis://cache:6379',
      WEBAUTHN_ORIGINS: 'https://a.example, https://b.example',
      DPP_MAX_DEPTH: '8',
      DPP_TRUST_PROXY: '1',
      WEBAUTHN_RP_ID: 'id.example',
      WEBAUTHN_CHALLENGE_TTL_SECONDS: '60',
      DPP_OWNER_SESSION_TTL_SECONDS: '3600',
      DPP_TRANSFER_OFFER_TTL_SECONDS: '600',
      DPP_API_KEY_CACHE_MS: '5000',
    });
    expect(c).toMatchObject({ port: 8080, databaseUrl: 'postgres://u@db:5432/dpp', redisUrl: 'redis://cache:6379', trustProxy: 1 });
    expect(c.webauthn).toMatchObject({ rpId: 'id.example', origins: ['https://a.example', 'https://b.example'], challengeTtlSeconds: 60, originsDefaulted: false });
    expect(c.owners).toEqual({ sessionTtlSeconds: 3600, transferOfferTtlSeconds: 600 });
    expect(c.limits.maxDepth).toBe(8);
    expect(c.apiKeyCacheMs).toBe(5000);
    expect(loadConfig({ DPP_API_KEY_CACHE_MS: '0' }).apiKeyCacheMs).toBe(0);
  });

  it('refuses production without DPP_MASTER_KEY, and a master key of the wrong size', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/DPP_MASTER_KEY/);
    expect(() => loadConfig({ DPP_MASTER_KEY: 'abcd' })).toThrow(/DPP_MASTER_KEY/);
  });

  it('names every bad variable at once', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', REDIS_URL: 'http://nope', LOG_LEVEL: 'loud', DPP_BOOTSTRAP_API_KEY: 'short', WEBAUTHN_ORIGINS: 'not a url', DPP_API_KEY_CACHE_MS: '-1' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['PORT', 'DATABASE_URL', 'REDIS_URL', 'LOG_LEVEL', 'DPP_BOOTSTRAP_API_KEY', 'WEBAUTHN_ORIGINS', 'DPP_API_KEY_CACHE_MS']) expect(problems).toContain(name);
  });

  it('keeps signing keys in the database by default, and needs a module, a token and one PIN source for pkcs11', () => {
    expect(loadConfig({}).keyStore).toEqual({ kind: 'local' });
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (e) {
        return (e as ConfigError).problems.join('\n');
      }
      return '';
    };
    const missing = problems({ DPP_KEY_STORE: 'pkcs11' });
    for (const name of ['DPP_PKCS11_MODULE', 'DPP_PKCS11_TOKEN_LABEL', 'DPP_PKCS11_PIN_FILE (or DPP_PKCS11_PIN)']) expect(missing).toContain(name);
    const base = { DPP_KEY_STORE: 'pkcs11', DPP_PKCS11_MODULE: '/usr/lib/x.so', DPP_PKCS11_TOKEN_LABEL: 'dpp' };
    expect(problems({ ...base, DPP_PKCS11_PIN: '1234', DPP_PKCS11_PIN_FILE: '/run/secrets/pin' })).toContain('set one, not both');
    expect(problems({ ...base, DPP_PKCS11_TOKEN_LABEL: 'x'.repeat(33), DPP_PKCS11_PIN: '1234' })).toContain('DPP_PKCS11_TOKEN_LABEL: at most 32 bytes');
    expect(problems({ DPP_KEY_STORE: 'hsm' })).toContain('DPP_KEY_STORE');
    const c = loadConfig({ ...base, DPP_PKCS11_PIN: '1234', DPP_PKCS11_SESSIONS: '8' }).keyStore;
    expect(c).toMatchObject({ kind: 'pkcs11', module: '/usr/lib/x.so', tokenLabel: 'dpp', pinSource: 'DPP_PKCS11_PIN', sessions: 8 });
    expect(c.kind === 'pkcs11' && c.pin.reveal()).toBe('1234');
  });

  it('reads the PIN from DPP_PKCS11_PIN_FILE (without its line break) and names an unreadable or empty file, never its content', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dpp-pin-'));
    try {
      const file = join(dir, 'pin');
      writeFileSync(file, 'pin 7 with spaces\n');
      const base = { DPP_KEY_STORE: 'pkcs11', DPP_PKCS11_MODULE: '/usr/lib/x.so', DPP_PKCS11_TOKEN_LABEL: 'dpp' };
      const c = loadConfig({ ...base, DPP_PKCS11_PIN_FILE: file }).keyStore;
      expect(c.kind === 'pkcs11' && [c.pin.reveal(), c.pinSource]).toEqual(['pin 7 with spaces', 'DPP_PKCS11_PIN_FILE']);
      expect(() => loadConfig({ ...base, DPP_PKCS11_PIN_FILE: join(dir, 'absent') })).toThrow(/DPP_PKCS11_PIN_FILE: cannot read .*absent \(ENOENT\)/);
      writeFileSync(file, '\n');
      expect(() => loadConfig({ ...base, DPP_PKCS11_PIN_FILE: file })).toThrow(/DPP_PKCS11_PIN_FILE: .* is empty/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never prints a secret: bad secret values are reported by length, and the PIN prints as [redacted] everywhere', () => {
    const pin = 'p'.repeat(300);
    const key = 'not-a-master-key-0123456789';
    let message = '';
    try {
      loadConfig({ DPP_PKCS11_PIN: pin, DPP_MASTER_KEY: key, DPP_METRICS_TOKEN: 'short-token' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('DPP_PKCS11_PIN');
    expect(message).toContain('300 characters, not shown');
    for (const secret of [pin, key, 'short-token']) expect(message).not.toContain(secret);

    const config = loadConfig({ DPP_KEY_STORE: 'pkcs11', DPP_PKCS11_MODULE: '/x.so', DPP_PKCS11_TOKEN_LABEL: 'dpp', DPP_PKCS11_PIN: 'sekrit-4711' });
    const secret = (config.keyStore as { pin: Secret }).pin;
    for (const shown of [JSON.stringify(config), inspect(config, { depth: 10 }), String(secret), `${secret}`]) expect(shown).not.toContain('sekrit-4711');
    expect(JSON.stringify(config.keyStore)).toContain('[redacted]');
  });
});
