import { graphql } from '../gql/index.js';

// Typed documents (GraphQL Code Generator, `npm run codegen`) shared by the tests.

export const MeDocument = graphql(`
  query Me {
    me {
      kind
      apiKeyId
      organization {
        id
        kind
        name
      }
    }
  }
`);

export const CreateOrganizationDocument = graphql(`
  mutation CreateOrganization($input: OrganizationInput!) {
    createOrganization(input: $input) {
      id
      name
      kind
      gs1CompanyPrefixes
      markets
    }
  }
`);

export const CreateApiKeyDocument = graphql(`
  mutation CreateApiKey($organizationId: ID!, $label: String!) {
    createApiKey(organizationId: $organizationId, label: $label) {
      id
      secret
      key {
        hint
        label
        revokedAt
      }
    }
  }
`);

export const RevokeApiKeyDocument = graphql(`
  mutation RevokeApiKey($id: ID!) {
    revokeApiKey(id: $id) {
      id
      revokedAt
    }
  }
`);
