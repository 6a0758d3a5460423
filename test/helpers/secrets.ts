/**
 * Secrets the tests hand to gateways (passwords, tokens, API keys), kept so
 * test/zz-secrets-scan.test.ts can check that none of them reaches a log or
 * audit line written during the run. Also where those logs go: one directory
 * per mocha process, STACKGATE_TEST_LOG_DIR when set.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where test gateways write their logs (and copies of their audit logs) in this run. */
export const TEST_LOG_DIR = process.env.STACKGATE_TEST_LOG_DIR || join(tmpdir(), `stackgate-test-logs-${process.pid}`);

let keep = Boolean(process.env.STACKGATE_TEST_LOG_DIR || process.env.STACKGATE_KEEP_TEST_LOGS);
let cleanupArmed = false;

/**
 * Called when TEST_LOG_DIR is first written to: the directory goes when the
 * process exits, unless it was chosen (STACKGATE_TEST_LOG_DIR), asked for
 * (STACKGATE_KEEP_TEST_LOGS=1) or `keepTestLogs` was called.
 */
export function armTestLogCleanup(): void {
  if (cleanupArmed) return;
  cleanupArmed = true;
  process.on('exit', () => { if (!keep) rmSync(TEST_LOG_DIR, { recursive: true, force: true }); });
}

/** Keeps TEST_LOG_DIR after the run (the scan found something to look at). */
export function keepTestLogs(): void {
  keep = true;
}

/**
 * Shorter values are not looked for: a 3-letter password such as 'pw' is a
 * substring of many innocent lines. They are counted in `skipped`, with
 * values of fewer than 4 distinct characters.
 */
export const MIN_SECRET_LENGTH = 6;

const secrets = new Map<string, string>();
let skipped = 0;

/** Remembers `value` (what: e.g. 'password of carol') as something no log line may contain. */
export function registerSecret(value: unknown, what: string): void {
  if (typeof value !== 'string' || value === '') return;
  // Too short, or too plain ('x'.repeat(86) as a wrong key): such strings turn up in innocent lines (fuzzed names).
  if (value.length < MIN_SECRET_LENGTH || new Set(value).size < 4) { skipped++; return; }
  if (!secrets.has(value)) secrets.set(value, what);
}

/** Every registered secret with what it is. */
export function registeredSecrets(): ReadonlyMap<string, string> {
  return secrets;
}

/** How many registered values were too short or too plain to look for. */
export function skippedSecrets(): number {
  return skipped;
}

/** A secret as it may be printed: its length and its first two characters, never the rest. */
export function mask(value: string): string {
  return `${value.slice(0, 2)}…(${value.length} chars)`;
}

/** One reason a log line fails the scan; `detail` never holds the secret itself, only its mask. */
export interface Finding { kind: string; detail: string }

/** Values that stand for a removed secret: pino's censor ('***' here, '[Redacted]' by default) and the like. */
export function isRedacted(value: string): boolean {
  return value === '' || /^(\*+|\[redacted\]|<redacted>|redacted|<hidden>|null|undefined)$/i.test(value.trim());
}

/** Keys whose value is a secret wherever they appear in a logged object (compared without case, '-' or '_'). */
const SECRET_KEYS = new Set([
  'password', 'passwd', 'adminpass', 'originalpassword', 'newpassword', 'secret', 'secretkey', 'apikey', 'token',
  'authtoken', 'accesstoken', 'refreshtoken', 'xauthtoken', 'xsubjecttoken', 'xstoragetoken', 'authorization',
  'cookie', 'credential', 'backendcredential', 'privatekey', 'ospassword', 'osauthtoken',
]);

const normKey = (k: string) => k.toLowerCase().replace(/[-_]/g, '');

/** The first byte of a stackgate token (src/identity/tokens.ts) is its version, 1, then a 4-byte key id: 'AQAAAA…' for small ids. */
function looksLikeStackgateToken(run: string): boolean {
  if (!/^[A-Za-z0-9_-]+$/.test(run)) return false;
  const raw = Buffer.from(run, 'base64url');
  return raw.length >= 5 + 12 + 16 + 2 && raw[0] === 1;
}

/** A long base64url run that looks random: upper, lower case and digits, and many distinct characters. */
function looksRandom(run: string): boolean {
  return /[A-Z]/.test(run) && /[a-z]/.test(run) && /[0-9]/.test(run) && new Set(run).size >= 32;
}

interface TextRule { kind: string; re: RegExp; value(m: RegExpExecArray): string | undefined }

const TEXT_RULES: TextRule[] = [
  { kind: 'stackgate token', re: /(?<![A-Za-z0-9_-])AQAAA[A-Za-z0-9_-]{100,}(?![A-Za-z0-9_-])/g, value: (m) => (looksLikeStackgateToken(m[0]) ? m[0] : undefined) },
  { kind: 'Keystone fernet token', re: /(?<![A-Za-z0-9_=-])gAAAAA[A-Za-z0-9_=-]{60,}/g, value: (m) => m[0] },
  { kind: 'long random base64url string (a token or key?)', re: /(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{80,}(?![A-Za-z0-9_-])/g, value: (m) => (looksRandom(m[0]) ? m[0] : undefined) },
  {
    kind: 'token header value',
    re: /\b(x-auth-token|x-subject-token|x-storage-token|x-service-token)\\?["']?\s*[:=]\s*\\?["']?([^\s"'\\,;}]+)/gi,
    value: (m) => (isRedacted(m[2]!) ? undefined : m[2]),
  },
  {
    kind: 'Authorization value',
    re: /\b(authorization|proxy-authorization)\\?["']?\s*[:=]\s*\\?["']?(?:(?:bearer|basic|token|digest|negotiate|aws4?-hmac-sha256)\s+)?([^\s"'\\,;}]+)/gi,
    value: (m) => (isRedacted(m[2]!) ? undefined : m[2]),
  },
  {
    kind: 'secret in a JSON text',
    re: /\\*"(password|passwd|adminPass|admin_pass|original_password|secret|secretKey|secret_key|apiKey|api_key|apikey|token|auth_token|access_token|private_key)\\*"\s*:\s*\\*"((?:[^"\\]|\\[^"])*)\\*"/gi,
    value: (m) => (isRedacted(m[2]!) ? undefined : m[2]),
  },
  {
    kind: 'secret in a query string or form',
    re: /[?&;\s](password|passwd|apikey|api_key|secretkey|secret_key|secret|token|auth_token|access_token|sessiontoken)=([^&\s"'\\]+)/gi,
    value: (m) => (isRedacted(m[2]!) ? undefined : m[2]),
  },
  { kind: '64-hex API key next to a key name', re: /(api_?key|apikey|secret|password|passwd|token|key)\W{1,8}([0-9a-fA-F]{64})(?![0-9a-fA-F])/gi, value: (m) => m[2] },
  { kind: 'PEM private key', re: /-----BEGIN [A-Z ]*PRIVATE KEY-----/g, value: (m) => m[0] },
];

/** A number for the 4 characters of `s` ending at `end` (low bytes of their codes): a cheap look-up key, checked by startsWith. */
function key4(s: string, end: number): number {
  return (((s.charCodeAt(end - 4) & 0xff) << 24) | ((s.charCodeAt(end - 3) & 0xff) << 16) | ((s.charCodeAt(end - 2) & 0xff) << 8) | (s.charCodeAt(end - 1) & 0xff)) >>> 0;
}

/** Registered secrets indexed by their last 4 characters: one map look-up per position of a line. */
let index: { size: number; bySuffix: Map<number, string[]> } | undefined;
function secretIndex(): Map<number, string[]> {
  if (index?.size === secrets.size) return index.bySuffix;
  const bySuffix = new Map<number, string[]>();
  for (const s of secrets.keys()) {
    const k = key4(s, s.length);
    const list = bySuffix.get(k);
    if (list) list.push(s); else bySuffix.set(k, [s]);
  }
  index = { size: secrets.size, bySuffix };
  return bySuffix;
}

function walk(value: unknown, path: string, out: Finding[]): void {
  if (!value || typeof value !== 'object') return;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const p = path ? `${path}.${k}` : k;
    if (SECRET_KEYS.has(normKey(k)) && typeof v === 'string' && !isRedacted(v)) {
      out.push({ kind: `unredacted field ${p}`, detail: mask(v) });
    }
    walk(v, p, out);
  }
}

/** What is wrong with one log or audit line: registered secrets in it, secret-shaped values, unredacted secret fields. */
export function scanLine(line: string): Finding[] {
  const out: Finding[] = [];
  const bySuffix = secretIndex();
  const found = new Set<string>();
  for (let end = MIN_SECRET_LENGTH; end <= line.length; end++) {
    const candidates = bySuffix.get(key4(line, end));
    if (!candidates) continue;
    for (const s of candidates) {
      if (!found.has(s) && end >= s.length && line.startsWith(s, end - s.length)) {
        found.add(s);
        out.push({ kind: 'registered secret', detail: `${secrets.get(s)}: ${mask(s)}` });
      }
    }
  }
  for (const rule of TEXT_RULES) {
    rule.re.lastIndex = 0;
    for (let m = rule.re.exec(line); m; m = rule.re.exec(line)) {
      const v = rule.value(m);
      if (v !== undefined) out.push({ kind: rule.kind, detail: mask(v) });
    }
  }
  let json: unknown;
  try { json = JSON.parse(line); } catch { json = undefined; }
  walk(json, '', out);
  return out;
}
