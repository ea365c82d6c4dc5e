import type { EntityManager } from '@mikro-orm/postgresql';
import { rawQuery } from '../../db/raw.js';
import type { AlertMessage } from '../alerts/alert-bus.js';
import { raiseAlerts } from '../alerts/alert.service.js';

/** Why the worker stopped delivering: the receiver answered 410 Gone, or a delivery failed after every retry. */
export type DisabledReason = 'GONE' | 'FAILING';

/** The attempt that ended it, as the alert's evidence shows it. */
export type LastAttempt = { deliveryId: string; webhookId: string; attempts: number; responseCode: number | null; error: string | null };

/**
 * Disables an endpoint and raises the brand's WEBHOOK_ENDPOINT_DISABLED alert, in the caller's transaction
 * (the one recording the attempt), so the alert exists exactly when the endpoint is off; the outbox carries it
 * to the brand's `fraudAlerts` subscribers and its other enabled endpoints after commit. Only the transaction
 * that flips `enabled` raises it: two attempts failing at once (two replicas, or two slots of one) are
 * serialised by the row lock, and the second finds the endpoint disabled already. FAILING is HIGH: the
 * brand's systems stop receiving events they rely on. GONE is MEDIUM: most likely the receiver's owner
 * retired it on purpose, but whoever watches alerts may not be that owner (nor is a lapsed domain).
 * Answers the alert, or null when the endpoint was disabled already.
 */
export async function disableEndpoint(tx: EntityManager, endpointId: string, reason: DisabledReason, last: LastAttempt): Promise<AlertMessage | null> {
  const [endpoint] = await rawQuery<{ brand_id: string; url: string }>(
    tx,
    'update webhook_endpoint set enabled = false, disabled_reason = $2, updated_at = now() where id = $1 and enabled returning brand_id, url',
    [endpointId, reason],
  );
  if (!endpoint) return null;
  const [alert] = await raiseAlerts(tx, { brandId: endpoint.brand_id, passportId: null, gtin: null, key: `webhook:${endpointId}`, at: new Date() }, [
    { kind: 'WEBHOOK_ENDPOINT_DISABLED', severity: reason === 'GONE' ? 'MEDIUM' : 'HIGH', evidence: { endpointId, url: endpoint.url, reason, ...last } },
  ]);
  return alert ?? null;
}
