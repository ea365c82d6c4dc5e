import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed documents for the tests, from the committed schema and the graphql() documents in test/.
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['test/**/*.ts', '!test/gql/**'],
  ignoreNoDocuments: true,
  generates: {
    'test/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: { useTypeImports: true, emitLegacyCommonJSImports: false, enumsAsTypes: true, scalars: { DateTimeISO: 'string', JSON: 'unknown' } },
    },
  },
};
export default config;
