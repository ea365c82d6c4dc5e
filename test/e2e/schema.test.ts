import { readFileSync } from 'node:fs';
import { buildSchema, Query, Resolver } from 'type-graphql';
import { describe, expect, it } from 'vitest';
import { assertDenyByDefault, authChecker } from '../../src/context/access.js';
import { getSchema, printContract } from '../../src/graphql/schema.js';

describe('schema.graphql', () => {
  it('is exactly what the code emits (run `npm run schema` after changing the API)', async () => {
    const committed = readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(printContract(await getSchema()));
  });

  it('carries the contract names', async () => {
    const text = printContract(await getSchema());
    for (const name of ['scalar DateTime', 'type Organization {', 'enum OrgKind', 'me: Viewer!', 'createOrganization(input: OrganizationInput!)', 'createApiKey(label: String!, organizationId: ID!): CreatedApiKey!']) {
      expect(text).toContain(name);
    }
  });
});

describe('deny by default', () => {
  it('refuses to build a schema with a root field that has no @Access rule', async () => {
    @Resolver()
    class ForgottenResolver {
      @Query(() => String)
      forgotten(): string {
        return 'open to the world';
      }
    }
    const schema = await buildSchema({ resolvers: [ForgottenResolver], authChecker, validate: false });
    expect(() => assertDenyByDefault(schema)).toThrow(/Query\.forgotten/);
  });
});
