import { DriverException, UniqueConstraintViolationException } from '@mikro-orm/core';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { ArgumentValidationError } from 'type-graphql';
import { isDatabaseUnavailable, RETRY_AFTER_SECONDS } from '../db/unavailable.js';
import { AppError, ERROR_CODES, type ErrorCode } from '../errors/app-error.js';

/** Protocol-level failures that Apollo or graphql-js label with their own codes: all bad input. */
const BAD_REQUEST_REASONS = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

function isStableCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && (ERROR_CODES as readonly string[]).includes(code);
}

/** The error a resolver threw, under any GraphQLError wrappers (duck-typed: graphql may be loaded twice). */
function unwrap(error: unknown): unknown {
  let e = error;
  for (let i = 0; i < 10 && e && typeof e === 'object' && 'originalError' in e && e.originalError && e.originalError !== e; i++) {
    e = e.originalError;
  }
  return e;
}

export type MappedError = { code: ErrorCode; message: string; extensions: Record<string, unknown>; internal: boolean };

/**
 * The one mapping from anything thrown to what a client sees. Unknown errors become
 * INTERNAL_SERVER_ERROR with no detail; the caller logs them.
 */
export function mapError(formatted: GraphQLFormattedError, error: unknown): MappedError {
  const original = unwrap(error);
  if (original instanceof AppError) {
    return { code: original.code, message: original.message, extensions: { ...original.details }, internal: false };
  }
  if (original instanceof ArgumentValidationError) {
    return { code: 'BAD_USER_INPUT', message: 'Argument validation failed', extensions: {}, internal: false };
  }
  if (original instanceof UniqueConstraintViolationException) {
    return { code: 'CONFLICT', message: 'A record with the same unique value already exists', extensions: {}, internal: false };
  }
  // invalid_text_representation (a malformed uuid, number or enum reaching SQL), or a time PostgreSQL cannot
  // hold (22008, e.g. year 0, which JavaScript dates accept): the input was bad.
  // Raw statements (rawQuery, preparedQuery) throw pg's own DatabaseError, which carries a severity; MikroORM wraps the rest.
  const rawPg = !!original && typeof original === 'object' && 'severity' in original;
  const sqlState = (original as { code?: string } | null)?.code;
  if ((original instanceof DriverException || rawPg) && (sqlState === '22P02' || sqlState === '22008')) {
    return { code: 'BAD_USER_INPUT', message: 'Malformed identifier or value', extensions: {}, internal: false };
  }
  // An outage is nobody's bad input and no bug of ours: the same answer for every caller (the transports add 503).
  if (isDatabaseUnavailable(original)) {
    return { code: 'SERVICE_UNAVAILABLE', message: 'The service is temporarily unavailable; retry later', extensions: { retryAfterSeconds: RETRY_AFTER_SECONDS }, internal: false };
  }
  const code = formatted.extensions?.code;
  if (isStableCode(code) && code !== 'INTERNAL_SERVER_ERROR') {
    const { code: _c, stacktrace: _s, ...rest } = formatted.extensions ?? {};
    return { code, message: formatted.message, extensions: rest, internal: false };
  }
  if (typeof code === 'string' && BAD_REQUEST_REASONS.has(code)) {
    return { code: 'BAD_USER_INPUT', message: formatted.message, extensions: { reason: code }, internal: false };
  }
  // graphql-js errors raised while coercing input or validating (no original error, not from a resolver).
  if (error instanceof GraphQLError && !error.originalError && !error.path) {
    return { code: 'BAD_USER_INPUT', message: formatted.message, extensions: {}, internal: false };
  }
  return { code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error', extensions: {}, internal: true };
}

/** Apollo's formatError and graphql-ws's result formatting both end here. */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const mapped = mapError(formatted, error);
  return {
    message: mapped.message,
    ...(formatted.locations && !mapped.internal ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: { ...mapped.extensions, code: mapped.code },
  };
}
