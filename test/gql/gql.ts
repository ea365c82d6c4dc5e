/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  query Me {\n    me {\n      kind\n      apiKeyId\n      organization {\n        id\n        kind\n        name\n      }\n    }\n  }\n": typeof types.MeDocument,
    "\n  mutation CreateOrganization($input: OrganizationInput!) {\n    createOrganization(input: $input) {\n      id\n      name\n      kind\n      gs1CompanyPrefixes\n      markets\n    }\n  }\n": typeof types.CreateOrganizationDocument,
    "\n  mutation CreateApiKey($organizationId: ID!, $label: String!) {\n    createApiKey(organizationId: $organizationId, label: $label) {\n      id\n      secret\n      key {\n        hint\n        label\n        revokedAt\n      }\n    }\n  }\n": typeof types.CreateApiKeyDocument,
    "\n  mutation RevokeApiKey($id: ID!) {\n    revokeApiKey(id: $id) {\n      id\n      revokedAt\n    }\n  }\n": typeof types.RevokeApiKeyDocument,
    "\n  mutation BeginPasskeyRegistration($displayName: String!) {\n    beginPasskeyRegistration(displayName: $displayName) {\n      sessionId\n      options\n      expiresAt\n    }\n  }\n": typeof types.BeginPasskeyRegistrationDocument,
    "\n  mutation FinishPasskeyRegistration($sessionId: ID!, $response: JSON!) {\n    finishPasskeyRegistration(sessionId: $sessionId, response: $response) {\n      ownerId\n      token\n      expiresAt\n    }\n  }\n": typeof types.FinishPasskeyRegistrationDocument,
    "\n  mutation BeginPasskeyAuthentication($purpose: AssertionPurpose!, $passportId: ID) {\n    beginPasskeyAuthentication(purpose: $purpose, passportId: $passportId) {\n      sessionId\n      options\n      expiresAt\n    }\n  }\n": typeof types.BeginPasskeyAuthenticationDocument,
    "\n  mutation FinishPasskeyAuthentication($sessionId: ID!, $assertion: JSON!) {\n    finishPasskeyAuthentication(sessionId: $sessionId, assertion: $assertion) {\n      ownerId\n      token\n      expiresAt\n    }\n  }\n": typeof types.FinishPasskeyAuthenticationDocument,
    "\n  mutation ClaimOwnership($passportId: ID!, $claimCode: String!, $assertion: JSON!) {\n    claimOwnership(passportId: $passportId, claimCode: $claimCode, assertion: $assertion) {\n      passportId\n      ownerId\n      since\n      until\n      acquiredVia\n    }\n  }\n": typeof types.ClaimOwnershipDocument,
    "\n  mutation OfferOwnershipTransfer($passportId: ID!, $assertion: JSON!) {\n    offerOwnershipTransfer(passportId: $passportId, assertion: $assertion) {\n      id\n      passportId\n      code\n      expiresAt\n    }\n  }\n": typeof types.OfferOwnershipTransferDocument,
    "\n  mutation CancelOwnershipTransfer($passportId: ID!) {\n    cancelOwnershipTransfer(passportId: $passportId)\n  }\n": typeof types.CancelOwnershipTransferDocument,
    "\n  mutation AcceptOwnershipTransfer($code: String!, $assertion: JSON!) {\n    acceptOwnershipTransfer(code: $code, assertion: $assertion) {\n      passportId\n      ownerId\n      since\n      acquiredVia\n    }\n  }\n": typeof types.AcceptOwnershipTransferDocument,
    "\n  mutation FileWarrantyClaim($input: WarrantyClaimInput!, $assertion: JSON!) {\n    fileWarrantyClaim(input: $input, assertion: $assertion) {\n      id\n      passportId\n      status\n      riskScore\n      reasons\n      issue\n      signals\n    }\n  }\n": typeof types.FileWarrantyClaimDocument,
    "\n  query WarrantyClaims($filter: WarrantyClaimFilter, $first: Int, $after: String) {\n    warrantyClaims(filter: $filter, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          passportId\n          status\n          riskScore\n          reasons\n          issue\n          signals\n          decidedAt\n          decisionNote\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.WarrantyClaimsDocument,
    "\n  mutation DecideWarrantyClaim($id: ID!, $decision: WarrantyDecision!, $note: String) {\n    decideWarrantyClaim(id: $id, decision: $decision, note: $note) {\n      id\n      status\n      decidedAt\n      decisionNote\n    }\n  }\n": typeof types.DecideWarrantyClaimDocument,
    "\n  query MyWarrantyClaims {\n    myWarrantyClaims {\n      id\n      passportId\n      status\n      riskScore\n      reasons\n      signals\n    }\n  }\n": typeof types.MyWarrantyClaimsDocument,
    "\n  query MyPassports {\n    myPassports {\n      id\n      status\n      currentOwnership {\n        ownerId\n        since\n      }\n      history {\n        edges {\n          node {\n            seq\n            type\n            actorId\n            payload\n          }\n        }\n      }\n      warrantyClaims {\n        id\n        status\n      }\n    }\n  }\n": typeof types.MyPassportsDocument,
    "\n  query MeOwner {\n    me {\n      kind\n      apiKeyId\n      organization {\n        id\n      }\n      owner {\n        id\n        displayName\n        passkeys {\n          id\n          name\n          signCount\n          backupEligible\n          backedUp\n          transports\n        }\n        passports {\n          id\n        }\n        ownerships {\n          passportId\n          ownerId\n          since\n          until\n          acquiredVia\n        }\n        warrantyClaims {\n          id\n        }\n      }\n    }\n  }\n": typeof types.MeOwnerDocument,
    "\n  query Passkeys {\n    passkeys {\n      id\n      name\n      signCount\n      backupEligible\n      backedUp\n      transports\n      aaguid\n      lastUsedAt\n    }\n  }\n": typeof types.PasskeysDocument,
    "\n  mutation RemovePasskey($id: ID!) {\n    removePasskey(id: $id) {\n      id\n    }\n  }\n": typeof types.RemovePasskeyDocument,
    "\n  mutation SignOut {\n    signOut\n  }\n": typeof types.SignOutDocument,
    "\n  query PassportOwnership($id: ID!) {\n    passport(id: $id) {\n      id\n      status\n      currentOwnership {\n        passportId\n        ownerId\n        since\n        until\n        acquiredVia\n      }\n    }\n  }\n": typeof types.PassportOwnershipDocument,
    "\n  query PassportOwnerView($id: ID!) {\n    passport(id: $id) {\n      id\n      site\n      history {\n        edges {\n          node {\n            seq\n            type\n            actorId\n            payload\n          }\n        }\n      }\n      warrantyClaims {\n        id\n      }\n    }\n  }\n": typeof types.PassportOwnerViewDocument,
    "\n  mutation CreateWebhookEndpoint($input: WebhookEndpointInput!) {\n    createWebhookEndpoint(input: $input) {\n      secret\n      endpoint {\n        id\n        url\n        events\n        enabled\n        description\n        disabledReason\n        previousSecretExpiresAt\n      }\n    }\n  }\n": typeof types.CreateWebhookEndpointDocument,
    "\n  mutation UpdateWebhookEndpoint($id: ID!, $input: WebhookEndpointUpdateInput!) {\n    updateWebhookEndpoint(id: $id, input: $input) {\n      id\n      url\n      events\n      enabled\n      description\n      disabledReason\n    }\n  }\n": typeof types.UpdateWebhookEndpointDocument,
    "\n  mutation DeleteWebhookEndpoint($id: ID!) {\n    deleteWebhookEndpoint(id: $id)\n  }\n": typeof types.DeleteWebhookEndpointDocument,
    "\n  mutation RotateWebhookSecret($id: ID!) {\n    rotateWebhookSecret(id: $id) {\n      secret\n      endpoint {\n        id\n        previousSecretExpiresAt\n      }\n    }\n  }\n": typeof types.RotateWebhookSecretDocument,
    "\n  query WebhookEndpoints {\n    webhookEndpoints {\n      id\n      url\n      events\n      enabled\n      disabledReason\n    }\n  }\n": typeof types.WebhookEndpointsDocument,
    "\n  query WebhookDeliveries($endpointId: ID!, $first: Int, $after: String) {\n    webhookDeliveries(endpointId: $endpointId, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          webhookId\n          eventType\n          status\n          attempts\n          responseCode\n          durationMs\n          error\n          createdAt\n          lastAttemptAt\n          nextAttemptAt\n          deliveredAt\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.WebhookDeliveriesDocument,
    "\n  mutation RedeliverWebhook($deliveryId: ID!) {\n    redeliverWebhook(deliveryId: $deliveryId) {\n      id\n      webhookId\n      status\n    }\n  }\n": typeof types.RedeliverWebhookDocument,
};
const documents: Documents = {
    "\n  query Me {\n    me {\n      kind\n      apiKeyId\n      organization {\n        id\n        kind\n        name\n      }\n    }\n  }\n": types.MeDocument,
    "\n  mutation CreateOrganization($input: OrganizationInput!) {\n    createOrganization(input: $input) {\n      id\n      name\n      kind\n      gs1CompanyPrefixes\n      markets\n    }\n  }\n": types.CreateOrganizationDocument,
    "\n  mutation CreateApiKey($organizationId: ID!, $label: String!) {\n    createApiKey(organizationId: $organizationId, label: $label) {\n      id\n      secret\n      key {\n        hint\n        label\n        revokedAt\n      }\n    }\n  }\n": types.CreateApiKeyDocument,
    "\n  mutation RevokeApiKey($id: ID!) {\n    revokeApiKey(id: $id) {\n      id\n      revokedAt\n    }\n  }\n": types.RevokeApiKeyDocument,
    "\n  mutation BeginPasskeyRegistration($displayName: String!) {\n    beginPasskeyRegistration(displayName: $displayName) {\n      sessionId\n      options\n      expiresAt\n    }\n  }\n": types.BeginPasskeyRegistrationDocument,
    "\n  mutation FinishPasskeyRegistration($sessionId: ID!, $response: JSON!) {\n    finishPasskeyRegistration(sessionId: $sessionId, response: $response) {\n      ownerId\n      token\n      expiresAt\n    }\n  }\n": types.FinishPasskeyRegistrationDocument,
    "\n  mutation BeginPasskeyAuthentication($purpose: AssertionPurpose!, $passportId: ID) {\n    beginPasskeyAuthentication(purpose: $purpose, passportId: $passportId) {\n      sessionId\n      options\n      expiresAt\n    }\n  }\n": types.BeginPasskeyAuthenticationDocument,
    "\n  mutation FinishPasskeyAuthentication($sessionId: ID!, $assertion: JSON!) {\n    finishPasskeyAuthentication(sessionId: $sessionId, assertion: $assertion) {\n      ownerId\n      token\n      expiresAt\n    }\n  }\n": types.FinishPasskeyAuthenticationDocument,
    "\n  mutation ClaimOwnership($passportId: ID!, $claimCode: String!, $assertion: JSON!) {\n    claimOwnership(passportId: $passportId, claimCode: $claimCode, assertion: $assertion) {\n      passportId\n      ownerId\n      since\n      until\n      acquiredVia\n    }\n  }\n": types.ClaimOwnershipDocument,
    "\n  mutation OfferOwnershipTransfer($passportId: ID!, $assertion: JSON!) {\n    offerOwnershipTransfer(passportId: $passportId, assertion: $assertion) {\n      id\n      passportId\n      code\n      expiresAt\n    }\n  }\n": types.OfferOwnershipTransferDocument,
    "\n  mutation CancelOwnershipTransfer($passportId: ID!) {\n    cancelOwnershipTransfer(passportId: $passportId)\n  }\n": types.CancelOwnershipTransferDocument,
    "\n  mutation AcceptOwnershipTransfer($code: String!, $assertion: JSON!) {\n    acceptOwnershipTransfer(code: $code, assertion: $assertion) {\n      passportId\n      ownerId\n      since\n      acquiredVia\n    }\n  }\n": types.AcceptOwnershipTransferDocument,
    "\n  mutation FileWarrantyClaim($input: WarrantyClaimInput!, $assertion: JSON!) {\n    fileWarrantyClaim(input: $input, assertion: $assertion) {\n      id\n      passportId\n      status\n      riskScore\n      reasons\n      issue\n      signals\n    }\n  }\n": types.FileWarrantyClaimDocument,
    "\n  query WarrantyClaims($filter: WarrantyClaimFilter, $first: Int, $after: String) {\n    warrantyClaims(filter: $filter, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          passportId\n          status\n          riskScore\n          reasons\n          issue\n          signals\n          decidedAt\n          decisionNote\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.WarrantyClaimsDocument,
    "\n  mutation DecideWarrantyClaim($id: ID!, $decision: WarrantyDecision!, $note: String) {\n    decideWarrantyClaim(id: $id, decision: $decision, note: $note) {\n      id\n      status\n      decidedAt\n      decisionNote\n    }\n  }\n": types.DecideWarrantyClaimDocument,
    "\n  query MyWarrantyClaims {\n    myWarrantyClaims {\n      id\n      passportId\n      status\n      riskScore\n      reasons\n      signals\n    }\n  }\n": types.MyWarrantyClaimsDocument,
    "\n  query MyPassports {\n    myPassports {\n      id\n      status\n      currentOwnership {\n        ownerId\n        since\n      }\n      history {\n        edges {\n          node {\n            seq\n            type\n            actorId\n            payload\n          }\n        }\n      }\n      warrantyClaims {\n        id\n        status\n      }\n    }\n  }\n": types.MyPassportsDocument,
    "\n  query MeOwner {\n    me {\n      kind\n      apiKeyId\n      organization {\n        id\n      }\n      owner {\n        id\n        displayName\n        passkeys {\n          id\n          name\n          signCount\n          backupEligible\n          backedUp\n          transports\n        }\n        passports {\n          id\n        }\n        ownerships {\n          passportId\n          ownerId\n          since\n          until\n          acquiredVia\n        }\n        warrantyClaims {\n          id\n        }\n      }\n    }\n  }\n": types.MeOwnerDocument,
    "\n  query Passkeys {\n    passkeys {\n      id\n      name\n      signCount\n      backupEligible\n      backedUp\n      transports\n      aaguid\n      lastUsedAt\n    }\n  }\n": types.PasskeysDocument,
    "\n  mutation RemovePasskey($id: ID!) {\n    removePasskey(id: $id) {\n      id\n    }\n  }\n": types.RemovePasskeyDocument,
    "\n  mutation SignOut {\n    signOut\n  }\n": types.SignOutDocument,
    "\n  query PassportOwnership($id: ID!) {\n    passport(id: $id) {\n      id\n      status\n      currentOwnership {\n        passportId\n        ownerId\n        since\n        until\n        acquiredVia\n      }\n    }\n  }\n": types.PassportOwnershipDocument,
    "\n  query PassportOwnerView($id: ID!) {\n    passport(id: $id) {\n      id\n      site\n      history {\n        edges {\n          node {\n            seq\n            type\n            actorId\n            payload\n          }\n        }\n      }\n      warrantyClaims {\n        id\n      }\n    }\n  }\n": types.PassportOwnerViewDocument,
    "\n  mutation CreateWebhookEndpoint($input: WebhookEndpointInput!) {\n    createWebhookEndpoint(input: $input) {\n      secret\n      endpoint {\n        id\n        url\n        events\n        enabled\n        description\n        disabledReason\n        previousSecretExpiresAt\n      }\n    }\n  }\n": types.CreateWebhookEndpointDocument,
    "\n  mutation UpdateWebhookEndpoint($id: ID!, $input: WebhookEndpointUpdateInput!) {\n    updateWebhookEndpoint(id: $id, input: $input) {\n      id\n      url\n      events\n      enabled\n      description\n      disabledReason\n    }\n  }\n": types.UpdateWebhookEndpointDocument,
    "\n  mutation DeleteWebhookEndpoint($id: ID!) {\n    deleteWebhookEndpoint(id: $id)\n  }\n": types.DeleteWebhookEndpointDocument,
    "\n  mutation RotateWebhookSecret($id: ID!) {\n    rotateWebhookSecret(id: $id) {\n      secret\n      endpoint {\n        id\n        previousSecretExpiresAt\n      }\n    }\n  }\n": types.RotateWebhookSecretDocument,
    "\n  query WebhookEndpoints {\n    webhookEndpoints {\n      id\n      url\n      events\n      enabled\n      disabledReason\n    }\n  }\n": types.WebhookEndpointsDocument,
    "\n  query WebhookDeliveries($endpointId: ID!, $first: Int, $after: String) {\n    webhookDeliveries(endpointId: $endpointId, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          webhookId\n          eventType\n          status\n          attempts\n          responseCode\n          durationMs\n          error\n          createdAt\n          lastAttemptAt\n          nextAttemptAt\n          deliveredAt\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.WebhookDeliveriesDocument,
    "\n  mutation RedeliverWebhook($deliveryId: ID!) {\n    redeliverWebhook(deliveryId: $deliveryId) {\n      id\n      webhookId\n      status\n    }\n  }\n": types.RedeliverWebhookDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Me {\n    me {\n      kind\n      apiKeyId\n      organization {\n        id\n        kind\n        name\n      }\n    }\n  }\n"): (typeof documents)["\n  query Me {\n    me {\n      kind\n      apiKeyId\n      organization {\n        id\n        kind\n        name\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateOrganization($input: OrganizationInput!) {\n    createOrganization(input: $input) {\n      id\n      name\n      kind\n      gs1CompanyPrefixes\n      markets\n    }\n  }\n"): (typeof documents)["\n  mutation CreateOrganization($input: OrganizationInput!) {\n    createOrganization(input: $input) {\n      id\n      name\n      kind\n      gs1CompanyPrefixes\n      markets\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateApiKey($organizationId: ID!, $label: String!) {\n    createApiKey(organizationId: $organizationId, label: $label) {\n      id\n      secret\n      key {\n        hint\n        label\n        revokedAt\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateApiKey($organizationId: ID!, $label: String!) {\n    createApiKey(organizationId: $organizationId, label: $label) {\n      id\n      secret\n      key {\n        hint\n        label\n        revokedAt\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RevokeApiKey($id: ID!) {\n    revokeApiKey(id: $id) {\n      id\n      revokedAt\n    }\n  }\n"): (typeof documents)["\n  mutation RevokeApiKey($id: ID!) {\n    revokeApiKey(id: $id) {\n      id\n      revokedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation BeginPasskeyRegistration($displayName: String!) {\n    beginPasskeyRegistration(displayName: $displayName) {\n      sessionId\n      options\n      expiresAt\n    }\n  }\n"): (typeof documents)["\n  mutation BeginPasskeyRegistration($displayName: String!) {\n    beginPasskeyRegistration(displayName: $displayName) {\n      sessionId\n      options\n      expiresAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation FinishPasskeyRegistration($sessionId: ID!, $response: JSON!) {\n    finishPasskeyRegistration(sessionId: $sessionId, response: $response) {\n      ownerId\n      token\n      expiresAt\n    }\n  }\n"): (typeof documents)["\n  mutation FinishPasskeyRegistration($sessionId: ID!, $response: JSON!) {\n    finishPasskeyRegistration(sessionId: $sessionId, response: $response) {\n      ownerId\n      token\n      expiresAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation BeginPasskeyAuthentication($purpose: AssertionPurpose!, $passportId: ID) {\n    beginPasskeyAuthentication(purpose: $purpose, passportId: $passportId) {\n      sessionId\n      options\n      expiresAt\n    }\n  }\n"): (typeof documents)["\n  mutation BeginPasskeyAuthentication($purpose: AssertionPurpose!, $passportId: ID) {\n    beginPasskeyAuthentication(purpose: $purpose, passportId: $passportId) {\n      sessionId\n      options\n      expiresAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation FinishPasskeyAuthentication($sessionId: ID!, $assertion: JSON!) {\n    finishPasskeyAuthentication(sessionId: $sessionId, assertion: $assertion) {\n      ownerId\n      token\n      expiresAt\n    }\n  }\n"): (typeof documents)["\n  mutation FinishPasskeyAuthentication($sessionId: ID!, $assertion: JSON!) {\n    finishPasskeyAuthentication(sessionId: $sessionId, assertion: $assertion) {\n      ownerId\n      token\n      expiresAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ClaimOwnership($passportId: ID!, $claimCode: String!, $assertion: JSON!) {\n    claimOwnership(passportId: $passportId, claimCode: $claimCode, assertion: $assertion) {\n      passportId\n      ownerId\n      since\n      until\n      acquiredVia\n    }\n  }\n"): (typeof documents)["\n  mutation ClaimOwnership($passportId: ID!, $claimCode: String!, $assertion: JSON!) {\n    claimOwnership(passportId: $passportId, claimCode: $claimCode, assertion: $assertion) {\n      passportId\n      ownerId\n      since\n      until\n      acquiredVia\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation OfferOwnershipTransfer($passportId: ID!, $assertion: JSON!) {\n    offerOwnershipTransfer(passportId: $passportId, assertion: $assertion) {\n      id\n      passportId\n      code\n      expiresAt\n    }\n  }\n"): (typeof documents)["\n  mutation OfferOwnershipTransfer($passportId: ID!, $assertion: JSON!) {\n    offerOwnershipTransfer(passportId: $passportId, assertion: $assertion) {\n      id\n      passportId\n      code\n      expiresAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CancelOwnershipTransfer($passportId: ID!) {\n    cancelOwnershipTransfer(passportId: $passportId)\n  }\n"): (typeof documents)["\n  mutation CancelOwnershipTransfer($passportId: ID!) {\n    cancelOwnershipTransfer(passportId: $passportId)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AcceptOwnershipTransfer($code: String!, $assertion: JSON!) {\n    acceptOwnershipTransfer(code: $code, assertion: $assertion) {\n      passportId\n      ownerId\n      since\n      acquiredVia\n    }\n  }\n"): (typeof documents)["\n  mutation AcceptOwnershipTransfer($code: String!, $assertion: JSON!) {\n    acceptOwnershipTransfer(code: $code, assertion: $assertion) {\n      passportId\n      ownerId\n      since\n      acquiredVia\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation FileWarrantyClaim($input: WarrantyClaimInput!, $assertion: JSON!) {\n    fileWarrantyClaim(input: $input, assertion: $assertion) {\n      id\n      passportId\n      status\n      riskScore\n      reasons\n      issue\n      signals\n    }\n  }\n"): (typeof documents)["\n  mutation FileWarrantyClaim($input: WarrantyClaimInput!, $assertion: JSON!) {\n    fileWarrantyClaim(input: $input, assertion: $assertion) {\n      id\n      passportId\n      status\n      riskScore\n      reasons\n      issue\n      signals\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query WarrantyClaims($filter: WarrantyClaimFilter, $first: Int, $after: String) {\n    warrantyClaims(filter: $filter, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          passportId\n          status\n          riskScore\n          reasons\n          issue\n          signals\n          decidedAt\n          decisionNote\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query WarrantyClaims($filter: WarrantyClaimFilter, $first: Int, $after: String) {\n    warrantyClaims(filter: $filter, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          passportId\n          status\n          riskScore\n          reasons\n          issue\n          signals\n          decidedAt\n          decisionNote\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DecideWarrantyClaim($id: ID!, $decision: WarrantyDecision!, $note: String) {\n    decideWarrantyClaim(id: $id, decision: $decision, note: $note) {\n      id\n      status\n      decidedAt\n      decisionNote\n    }\n  }\n"): (typeof documents)["\n  mutation DecideWarrantyClaim($id: ID!, $decision: WarrantyDecision!, $note: String) {\n    decideWarrantyClaim(id: $id, decision: $decision, note: $note) {\n      id\n      status\n      decidedAt\n      decisionNote\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query MyWarrantyClaims {\n    myWarrantyClaims {\n      id\n      passportId\n      status\n      riskScore\n      reasons\n      signals\n    }\n  }\n"): (typeof documents)["\n  query MyWarrantyClaims {\n    myWarrantyClaims {\n      id\n      passportId\n      status\n      riskScore\n      reasons\n      signals\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query MyPassports {\n    myPassports {\n      id\n      status\n      currentOwnership {\n        ownerId\n        since\n      }\n      history {\n        edges {\n          node {\n            seq\n            type\n            actorId\n            payload\n          }\n        }\n      }\n      warrantyClaims {\n        id\n        status\n      }\n    }\n  }\n"): (typeof documents)["\n  query MyPassports {\n    myPassports {\n      id\n      status\n      currentOwnership {\n        ownerId\n        since\n      }\n      history {\n        edges {\n          node {\n            seq\n            type\n            actorId\n            payload\n          }\n        }\n      }\n      warrantyClaims {\n        id\n        status\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query MeOwner {\n    me {\n      kind\n      apiKeyId\n      organization {\n        id\n      }\n      owner {\n        id\n        displayName\n        passkeys {\n          id\n          name\n          signCount\n          backupEligible\n          backedUp\n          transports\n        }\n        passports {\n          id\n        }\n        ownerships {\n          passportId\n          ownerId\n          since\n          until\n          acquiredVia\n        }\n        warrantyClaims {\n          id\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query MeOwner {\n    me {\n      kind\n      apiKeyId\n      organization {\n        id\n      }\n      owner {\n        id\n        displayName\n        passkeys {\n          id\n          name\n          signCount\n          backupEligible\n          backedUp\n          transports\n        }\n        passports {\n          id\n        }\n        ownerships {\n          passportId\n          ownerId\n          since\n          until\n          acquiredVia\n        }\n        warrantyClaims {\n          id\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Passkeys {\n    passkeys {\n      id\n      name\n      signCount\n      backupEligible\n      backedUp\n      transports\n      aaguid\n      lastUsedAt\n    }\n  }\n"): (typeof documents)["\n  query Passkeys {\n    passkeys {\n      id\n      name\n      signCount\n      backupEligible\n      backedUp\n      transports\n      aaguid\n      lastUsedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RemovePasskey($id: ID!) {\n    removePasskey(id: $id) {\n      id\n    }\n  }\n"): (typeof documents)["\n  mutation RemovePasskey($id: ID!) {\n    removePasskey(id: $id) {\n      id\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SignOut {\n    signOut\n  }\n"): (typeof documents)["\n  mutation SignOut {\n    signOut\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query PassportOwnership($id: ID!) {\n    passport(id: $id) {\n      id\n      status\n      currentOwnership {\n        passportId\n        ownerId\n        since\n        until\n        acquiredVia\n      }\n    }\n  }\n"): (typeof documents)["\n  query PassportOwnership($id: ID!) {\n    passport(id: $id) {\n      id\n      status\n      currentOwnership {\n        passportId\n        ownerId\n        since\n        until\n        acquiredVia\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query PassportOwnerView($id: ID!) {\n    passport(id: $id) {\n      id\n      site\n      history {\n        edges {\n          node {\n            seq\n            type\n            actorId\n            payload\n          }\n        }\n      }\n      warrantyClaims {\n        id\n      }\n    }\n  }\n"): (typeof documents)["\n  query PassportOwnerView($id: ID!) {\n    passport(id: $id) {\n      id\n      site\n      history {\n        edges {\n          node {\n            seq\n            type\n            actorId\n            payload\n          }\n        }\n      }\n      warrantyClaims {\n        id\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateWebhookEndpoint($input: WebhookEndpointInput!) {\n    createWebhookEndpoint(input: $input) {\n      secret\n      endpoint {\n        id\n        url\n        events\n        enabled\n        description\n        disabledReason\n        previousSecretExpiresAt\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateWebhookEndpoint($input: WebhookEndpointInput!) {\n    createWebhookEndpoint(input: $input) {\n      secret\n      endpoint {\n        id\n        url\n        events\n        enabled\n        description\n        disabledReason\n        previousSecretExpiresAt\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateWebhookEndpoint($id: ID!, $input: WebhookEndpointUpdateInput!) {\n    updateWebhookEndpoint(id: $id, input: $input) {\n      id\n      url\n      events\n      enabled\n      description\n      disabledReason\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateWebhookEndpoint($id: ID!, $input: WebhookEndpointUpdateInput!) {\n    updateWebhookEndpoint(id: $id, input: $input) {\n      id\n      url\n      events\n      enabled\n      description\n      disabledReason\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteWebhookEndpoint($id: ID!) {\n    deleteWebhookEndpoint(id: $id)\n  }\n"): (typeof documents)["\n  mutation DeleteWebhookEndpoint($id: ID!) {\n    deleteWebhookEndpoint(id: $id)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RotateWebhookSecret($id: ID!) {\n    rotateWebhookSecret(id: $id) {\n      secret\n      endpoint {\n        id\n        previousSecretExpiresAt\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation RotateWebhookSecret($id: ID!) {\n    rotateWebhookSecret(id: $id) {\n      secret\n      endpoint {\n        id\n        previousSecretExpiresAt\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query WebhookEndpoints {\n    webhookEndpoints {\n      id\n      url\n      events\n      enabled\n      disabledReason\n    }\n  }\n"): (typeof documents)["\n  query WebhookEndpoints {\n    webhookEndpoints {\n      id\n      url\n      events\n      enabled\n      disabledReason\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query WebhookDeliveries($endpointId: ID!, $first: Int, $after: String) {\n    webhookDeliveries(endpointId: $endpointId, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          webhookId\n          eventType\n          status\n          attempts\n          responseCode\n          durationMs\n          error\n          createdAt\n          lastAttemptAt\n          nextAttemptAt\n          deliveredAt\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query WebhookDeliveries($endpointId: ID!, $first: Int, $after: String) {\n    webhookDeliveries(endpointId: $endpointId, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          webhookId\n          eventType\n          status\n          attempts\n          responseCode\n          durationMs\n          error\n          createdAt\n          lastAttemptAt\n          nextAttemptAt\n          deliveredAt\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RedeliverWebhook($deliveryId: ID!) {\n    redeliverWebhook(deliveryId: $deliveryId) {\n      id\n      webhookId\n      status\n    }\n  }\n"): (typeof documents)["\n  mutation RedeliverWebhook($deliveryId: ID!) {\n    redeliverWebhook(deliveryId: $deliveryId) {\n      id\n      webhookId\n      status\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;