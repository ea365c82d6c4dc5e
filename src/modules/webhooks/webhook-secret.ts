import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { deriveKey } from '../../crypto/master-key.js';

const PREFIX = 'whsec_';

/** A new signing secret as Standard Webhooks serialises it: `whsec_` + base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return PREFIX + randomBytes(32).toString('base64');
}

/** Seals and opens endpoint secrets with AES-256-GCM under a purpose key derived from the master key. */
export function secretBox(masterKey: Uint8Array) {
  const key = deriveKey(masterKey, 'webhook-secret-encryption');
  return {
    seal(secret: string): string {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return `${iv.toString('base64url')}.${sealed.toString('base64url')}`;
    },
    open(sealed: string): string {
      const [iv, body] = sealed.split('.');
      const bytes = Buffer.from(body!, 'base64url');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv!, 'base64url'));
      decipher.setAuthTag(bytes.subarray(bytes.length - 16));
      return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString('utf8');
    },
  };
}

/**
 * The `webhook-signature` header for one attempt: `v1,<base64 HMAC-SHA256>` of `{id}.{timestamp}.{body}` under
 * each secret, space-separated (the current secret first; during a rotation's grace period the previous one too).
 */
export function signatureHeader(secrets: readonly string[], webhookId: string, at: Date, body: string): string {
  return secrets.map((s) => new Webhook(s).sign(webhookId, at, body)).join(' ');
}
