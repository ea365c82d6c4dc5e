import { graphql } from '../gql/index.js';

// Typed documents (GraphQL Code Generator, `npm run codegen`) for passkeys, ownership and warranty tests.

export const BeginPasskeyRegistrationDocument = graphql(`
  mutation BeginPasskeyRegistration($displayName: String!) {
    beginPasskeyRegistration(displayName: $displayName) {
      sessionId
      options
      expiresAt
    }
  }
`);

export const FinishPasskeyRegistrationDocument = graphql(`
  mutation FinishPasskeyRegistration($sessionId: ID!, $response: JSON!) {
    finishPasskeyRegistration(sessionId: $sessionId, response: $response) {
      ownerId
      token
      expiresAt
    }
  }
`);

export const BeginPasskeyAuthenticationDocument = graphql(`
  mutation BeginPasskeyAuthentication($purpose: AssertionPurpose!, $passportId: ID) {
    beginPasskeyAuthentication(purpose: $purpose, passportId: $passportId) {
      sessionId
      options
      expiresAt
    }
  }
`);

export const FinishPasskeyAuthenticationDocument = graphql(`
  mutation FinishPasskeyAuthentication($sessionId: ID!, $assertion: JSON!) {
    finishPasskeyAuthentication(sessionId: $sessionId, assertion: $assertion) {
      ownerId
      token
      expiresAt
    }
  }
`);

export const ClaimOwnershipDocument = graphql(`
  mutation ClaimOwnership($passportId: ID!, $claimCode: String!, $assertion: JSON!) {
    claimOwnership(passportId: $passportId, claimCode: $claimCode, assertion: $assertion) {
      passportId
      ownerId
      since
      until
      acquiredVia
    }
  }
`);

export const OfferOwnershipTransferDocument = graphql(`
  mutation OfferOwnershipTransfer($passportId: ID!, $assertion: JSON!) {
    offerOwnershipTransfer(passportId: $passportId, assertion: $assertion) {
      id
      passportId
      code
      expiresAt
    }
  }
`);

export const CancelOwnershipTransferDocument = graphql(`
  mutation CancelOwnershipTransfer($passportId: ID!) {
    cancelOwnershipTransfer(passportId: $passportId)
  }
`);

export const AcceptOwnershipTransferDocument = graphql(`
  mutation AcceptOwnershipTransfer($code: String!, $assertion: JSON!) {
    acceptOwnershipTransfer(code: $code, assertion: $assertion) {
      passportId
      ownerId
      since
      acquiredVia
    }
  }
`);

export const FileWarrantyClaimDocument = graphql(`
  mutation FileWarrantyClaim($input: WarrantyClaimInput!, $assertion: JSON!) {
    fileWarrantyClaim(input: $input, assertion: $assertion) {
      id
      passportId
      status
      riskScore
      reasons
      issue
      signals
    }
  }
`);

export const WarrantyClaimsDocument = graphql(`
  query WarrantyClaims($filter: WarrantyClaimFilter, $first: Int, $after: String) {
    warrantyClaims(filter: $filter, first: $first, after: $after) {
      edges {
        cursor
        node {
          id
          passportId
          status
          riskScore
          reasons
          issue
          signals
          decidedAt
          decisionNote
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const DecideWarrantyClaimDocument = graphql(`
  mutation DecideWarrantyClaim($id: ID!, $decision: WarrantyDecision!, $note: String) {
    decideWarrantyClaim(id: $id, decision: $decision, note: $note) {
      id
      status
      decidedAt
      decisionNote
    }
  }
`);

export const MyWarrantyClaimsDocument = graphql(`
  query MyWarrantyClaims {
    myWarrantyClaims {
      id
      passportId
      status
      riskScore
      reasons
      signals
    }
  }
`);

export const MyPassportsDocument = graphql(`
  query MyPassports {
    myPassports {
      id
      status
      currentOwnership {
        ownerId
        since
      }
      history {
        edges {
          node {
            seq
            type
            actorId
            payload
          }
        }
      }
      warrantyClaims {
        id
        status
      }
    }
  }
`);

export const MeOwnerDocument = graphql(`
  query MeOwner {
    me {
      kind
      apiKeyId
      organization {
        id
      }
      owner {
        id
        displayName
        passkeys {
          id
          name
          signCount
          backupEligible
          backedUp
          transports
        }
        passports {
          id
        }
        ownerships {
          passportId
          ownerId
          since
          until
          acquiredVia
        }
        warrantyClaims {
          id
        }
      }
    }
  }
`);

export const PasskeysDocument = graphql(`
  query Passkeys {
    passkeys {
      id
      name
      signCount
      backupEligible
      backedUp
      transports
      aaguid
      lastUsedAt
    }
  }
`);

export const RemovePasskeyDocument = graphql(`
  mutation RemovePasskey($id: ID!) {
    removePasskey(id: $id) {
      id
    }
  }
`);

export const SignOutDocument = graphql(`
  mutation SignOut {
    signOut
  }
`);

export const PassportOwnershipDocument = graphql(`
  query PassportOwnership($id: ID!) {
    passport(id: $id) {
      id
      status
      currentOwnership {
        passportId
        ownerId
        since
        until
        acquiredVia
      }
    }
  }
`);

export const PassportOwnerViewDocument = graphql(`
  query PassportOwnerView($id: ID!) {
    passport(id: $id) {
      id
      site
      history {
        edges {
          node {
            seq
            type
            actorId
            payload
          }
        }
      }
      warrantyClaims {
        id
      }
    }
  }
`);
