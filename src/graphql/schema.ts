import { type GraphQLSchema, lexicographicSortSchema, printSchema } from 'graphql';
import { GraphQLDateTime } from 'graphql-scalars';
import { createPubSub } from '@graphql-yoga/subscription';
import { buildSchema } from 'type-graphql';
import { SigningKeyResolver } from '../modules/keys/signing-key.resolver.js';
import { PassportResolver } from '../modules/passports/passport.resolver.js';
import { CustodyFieldResolver, CustodyResolver } from '../modules/custody/custody.resolver.js';
import { TraceabilityResolver } from '../modules/custody/traceability.resolver.js';
import { AlertResolver } from '../modules/alerts/alert.resolver.js';
import { AnalyticsResolver } from '../modules/analytics/analytics.resolver.js';
import { VerificationResolver } from '../modules/verification/verification.resolver.js';
import { AuditResolver } from '../modules/audit/audit.resolver.js';
import { OrganizationResolver } from '../modules/organizations/organization.resolver.js';
import { ProductModelResolver } from '../modules/product-models/product-model.resolver.js';
import { PassportServiceRecordsResolver, ServiceResolver } from '../modules/service/service.resolver.js';
import { EndOfLifeResolver } from '../modules/end-of-life/end-of-life.resolver.js';
import { OwnerDataResolver } from '../modules/ownership/owner-data.resolver.js';
import { OwnerResolver, OwnershipResolver, PasskeyResolver, PassportOwnershipResolver, ViewerOwnerResolver } from '../modules/ownership/ownership.resolver.js';
import { PassportWarrantyClaimsResolver, WarrantyResolver } from '../modules/warranty/warranty.resolver.js';
import { NfcTagResolver } from '../modules/nfc-tags/nfc-tag.resolver.js';
import { HistoryResolver } from '../modules/history/history.resolver.js';
import { BatchLabelsResolver, PassportLabelResolver } from '../modules/labels/label.resolver.js';
import { BatteryResolver } from '../modules/batteries/battery.resolver.js';
import { WebhookResolver } from '../modules/webhooks/webhook.resolver.js';
import { SiteResolver } from '../modules/sites/site.resolver.js';
import { LogResolver } from '../modules/log/log.resolver.js';
import { assertDenyByDefault, authChecker } from '../context/access.js';

/** Every feature's resolvers; the order does not matter. */
const resolvers = [OrganizationResolver, SigningKeyResolver, ProductModelResolver, PassportResolver, CustodyResolver, CustodyFieldResolver, TraceabilityResolver, AuditResolver, ServiceResolver, PassportServiceRecordsResolver, EndOfLifeResolver, VerificationResolver, AlertResolver, AnalyticsResolver,
  NfcTagResolver, HistoryResolver, PasskeyResolver, OwnershipResolver, PassportOwnershipResolver, OwnerResolver, ViewerOwnerResolver, OwnerDataResolver, WarrantyResolver, PassportWarrantyClaimsResolver, BatchLabelsResolver, PassportLabelResolver, BatteryResolver, WebhookResolver, SiteResolver, LogResolver] as const;

let cached: Promise<GraphQLSchema> | undefined;

/** Builds the schema once per process and refuses one with an unguarded root field. */
export function getSchema(): Promise<GraphQLSchema> {
  cached ??= buildSchema({
    resolvers: [...resolvers],
    authChecker,
    validate: false,
    // The contract's scalar names: DateTime (RFC 3339) and JSON.
    scalarsMap: [{ type: Date, scalar: GraphQLDateTime }],
    // type-graphql insists on a PubSub once any @Subscription exists. Ours use `subscribe` to read the
    // server's own AlertBus (alerts and passport events; in-process or Redis), so this one carries nothing.
    pubSub: createPubSub(),
  }).then((schema) => {
    assertDenyByDefault(schema);
    return schema;
  });
  return cached;
}

export const SCHEMA_HEADER = '# Generated from the code by `npm run schema`: do not edit. CI fails when it differs.\n\n';

/** The public contract as committed in schema.graphql. */
export function printContract(schema: GraphQLSchema): string {
  return SCHEMA_HEADER + printSchema(lexicographicSortSchema(schema)) + '\n';
}
