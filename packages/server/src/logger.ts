/**
 * pino logger: JSON in production, pretty on a TTY (fastify/demo src/server.ts). Node keys, enroll
 * secrets, passwords and tokens are redacted wherever they appear in logged objects.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level: string;
  format: 'auto' | 'json' | 'pretty';
}

export const REDACT_PATHS = [
  'node_key', '*.node_key', 'enroll_secret', '*.enroll_secret', 'password', '*.password', 'token', '*.token',
  'req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'secret', '*.secret',
];

export function createLogger(opts: LoggerOptions): Logger {
  const pretty = opts.format === 'pretty' || (opts.format === 'auto' && process.stdout.isTTY);
  return pino({
    level: opts.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
  });
}
