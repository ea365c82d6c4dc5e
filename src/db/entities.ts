import { FraudAlert, OutboxMessage } from '../modules/alerts/fraud-alert.entity.js';
import { BatteryModel, BatteryUnit, BatteryUnitMass } from '../modules/batteries/battery.entity.js';
import { AuditLog } from '../modules/audit/audit-log.entity.js';
import { CapturedEpcisEvent, EpcisCapture } from '../modules/custody/epcis-capture.entity.js';
import { LifecycleEvent } from '../modules/history/lifecycle-event.entity.js';
import { SigningKey } from '../modules/keys/signing-key.entity.js';
import { LogCheckpoint, LogLeaf, LogPending, LogState, LogTile } from '../modules/log/log.entity.js';
import { ApiKey, Organization } from '../modules/organizations/organization.entity.js';
import { NfcTag } from '../modules/nfc-tags/nfc-tag.entity.js';
import { MintBatch, Passport } from '../modules/passports/passport.entity.js';
import { ScanDaily } from '../modules/privacy/scan-daily.entity.js';
import { ProductModel } from '../modules/product-models/product-model.entity.js';
import { Owner, OwnerSession, PasskeyCredential, WebAuthnChallenge } from '../modules/ownership/owner.entity.js';
import { Ownership, TransferOffer } from '../modules/ownership/ownership.entity.js';
import { ServiceAuthorization, ServiceRecord } from '../modules/service/service.entity.js';
import { StatusList } from '../modules/status-lists/status-list.entity.js';
import { ScanEvent } from '../modules/verification/scan-event.entity.js';
import { WarrantyClaim } from '../modules/warranty/warranty-claim.entity.js';
import { WebhookEndpoint } from '../modules/webhooks/webhook.entity.js';
import { WebhookDelivery } from '../modules/webhooks/webhook-delivery.entity.js';
import { ManufacturingSite } from '../modules/sites/site.entity.js';

/** Every entity the ORM knows; features add theirs here. */
export const entities = [
  Organization,
  ApiKey,
  ProductModel,
  BatteryModel,
  BatteryUnit,
  BatteryUnitMass,
  SigningKey,
  ManufacturingSite,
  MintBatch,
  Passport,
  LifecycleEvent,
  ServiceAuthorization,
  ServiceRecord,
  EpcisCapture,
  CapturedEpcisEvent,
  AuditLog,
  ScanEvent,
  ScanDaily,
  FraudAlert,
  OutboxMessage,
  Owner,
  PasskeyCredential,
  WebAuthnChallenge,
  OwnerSession,
  Ownership,
  TransferOffer,
  WarrantyClaim,
  NfcTag,
  StatusList,
  WebhookEndpoint,
  WebhookDelivery,
  LogPending,
  LogLeaf,
  LogTile,
  LogState,
  LogCheckpoint,
];
