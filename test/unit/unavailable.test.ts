import { ConnectionException, DriverException, UniqueConstraintViolationException } from '@mikro-orm/core';
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../src/db/unavailable.js';
import { mapError } from '../../src/graphql/errors.js';

const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code, severity: 'FATAL' });

describe('isDatabaseUnavailable', () => {
  it.each([
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['a connection dropped under a query', new Error('Connection terminated unexpectedly')],
    ['a pool that timed out', new Error('timeout exceeded when trying to connect')],
    ['an admin shutdown (57P01)', pgError('57P01', 'terminating connection due to administrator command')],
    ['the database starting up (57P03)', pgError('57P03', 'the database system is starting up')],
    ['a connection failure (08006)', pgError('08006')],
    ['too many connections (53300)', pgError('53300')],
    ['MikroORM wrapping a dropped connection', new DriverException(new Error('Connection terminated unexpectedly'))],
    ['a GraphQL error around one', new GraphQLError('x', { originalError: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) })],
    ['an error caused by one', new Error('scan failed', { cause: pgError('57P01') })],
    ['an AggregateError of refusals', new AggregateError([Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })])],
  ])('recognises %s', (_what, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['a unique violation', new UniqueConstraintViolationException(pgError('23505'))],
    ['a malformed uuid (22P02)', pgError('22P02', 'invalid input syntax for type uuid')],
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['an application code', Object.assign(new Error('x'), { code: 'NOT_FOUND' })],
    ['nothing', undefined],
  ])('does not take %s for an outage', (_what, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });

  it('survives a cause cycle', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    a.cause = new Error('b', { cause: a });
    expect(isDatabaseUnavailable(a)).toBe(false);
  });
});

describe('mapError', () => {
  it('answers SERVICE_UNAVAILABLE (not internal) for an outage, and BAD_USER_INPUT for pg 22P02 from a raw statement', () => {
    const outage = new GraphQLError('x', { path: ['passport'], originalError: new ConnectionException(new Error('Connection terminated')) });
    expect(mapError({ message: 'x' }, outage)).toMatchObject({ code: 'SERVICE_UNAVAILABLE', internal: false, extensions: { retryAfterSeconds: 5 } });
    const malformed = new GraphQLError('x', { path: ['warrantyClaims'], originalError: pgError('22P02', 'invalid input syntax for type uuid: ""') });
    expect(mapError({ message: 'x' }, malformed)).toMatchObject({ code: 'BAD_USER_INPUT', internal: false });
  });
});
