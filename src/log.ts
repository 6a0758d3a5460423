/**
 * Logging with pino: JSON lines, with tokens, passwords and keys redacted
 * wherever they appear in a logged object.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

/** Paths pino censors in every log line. */
export const REDACT_PATHS = [
  'req.headers["x-auth-token"]', 'req.headers["x-subject-token"]', 'req.headers.authorization',
  'req.headers.cookie', 'res.headers["x-subject-token"]',
  '*.password', '*.*.password', '*.*.*.password', '*.secret', '*.*.secret',
  '*.api_key', '*.apiKey', '*.*.apiKey', '*.token', '*.*.token', '*.credential', '*.backendCredential',
  // got's RequestError carries its request options (headers with X-Auth-Token, the JSON body with a password).
  'err.options',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({
    level,
    base: { service: 'stackgate' },
    redact: { paths: REDACT_PATHS, censor: '***' },
    timestamp: pino.stdTimeFunctions.isoTime,
  }, destination);
}
