import { ApolloServer } from '@apollo/server';
import type { MikroORM } from '@mikro-orm/postgresql';
import { buildSchema } from 'graphql';
import type { Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import type { AppServices } from '../../src/context/services.js';
import type { Context } from '../../src/context/request-context.js';
import { createContext } from '../../src/context/request-context.js';

/** Counts what a context builds: entity manager forks and logger children. */
function counting() {
  const made = { forks: 0, children: 0 };
  const orm = { em: { fork: () => ({ fork: ++made.forks }) } } as unknown as MikroORM;
  const log = { child: () => ({ child: ++made.children }) } as unknown as Logger;
  return { made, orm, log };
}

describe('request context', () => {
  it('builds nothing when Apollo copies it for a request that needs nothing', async () => {
    const { made, orm, log } = counting();
    const apollo = new ApolloServer<Context>({ schema: buildSchema('type Query { ok: Boolean }'), rootValue: { ok: true } } as never);
    await apollo.start();
    try {
      const ctx = createContext(orm, log, {} as AppServices, { kind: 'ANONYMOUS' }, 'req-1');
      const r = await apollo.executeOperation({ query: '{ ok }' }, { contextValue: ctx });
      expect(r.body.kind === 'single' && r.body.singleResult.data).toEqual({ ok: true });
      expect(made).toEqual({ forks: 0, children: 0 });
    } finally {
      await apollo.stop();
    }
  });

  it('builds each part on first use, once, on the copy a resolver receives', async () => {
    const { made, orm, log } = counting();
    let seen: Context | undefined;
    const schema = buildSchema('type Query { ok: Boolean }');
    const apollo = new ApolloServer<Context>({
      schema,
      rootValue: { ok: (_a: unknown, c: Context) => ((seen = c), c.em === c.em && c.log === c.log) },
    } as never);
    await apollo.start();
    try {
      const ctx = createContext(orm, log, {} as AppServices, { kind: 'ANONYMOUS' }, 'req-2', '203.0.113.9');
      const r = await apollo.executeOperation({ query: '{ ok }' }, { contextValue: ctx });
      expect(r.body.kind === 'single' && r.body.singleResult.data).toEqual({ ok: true });
      expect(made).toEqual({ forks: 1, children: 1 });
      expect(seen).toMatchObject({ requestId: 'req-2', clientAddress: '203.0.113.9', viewer: { kind: 'ANONYMOUS' } });
    } finally {
      await apollo.stop();
    }
  });
});
