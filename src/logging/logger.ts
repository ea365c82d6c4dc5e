import { pino, type Logger } from 'pino';

/** JSON logs on stdout (pino); secrets in headers never reach them. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: { paths: ['req.headers.authorization', 'authorization', 'secret'], censor: '[redacted]' },
  });
}
