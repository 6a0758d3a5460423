/**
 * Secrets: no log or audit line written during the test run holds a token,
 * password, API key or secret. Every gateway of test/helpers/gateway.ts logs at
 * debug level into TEST_LOG_DIR (and leaves a copy of its audit log there);
 * this file sorts last, so it reads what the whole run wrote. It also starts
 * gateways of its own (local users, SoftLayer, CloudStack) and feeds them
 * secrets in every place a client puts them, so it has something to scan
 * when it runs alone and cannot pass on an empty directory.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { snapshotTestLogs, startGateway, type Harness } from './helpers/gateway.js';
import { startSoftLayerGateway } from './helpers/softlayer.js';
import { startCloudStackGateway } from './helpers/cloudstack.js';
import { TEST_LOG_DIR, keepTestLogs, mask, registerSecret, registeredSecrets, scanLine, type Finding } from './helpers/secrets.js';

type Json = Record<string, any>;

interface Leak { file: string; line: number; kind: string; detail: string; context: string }

/** Where a line came from, without its values: message, method, path, operation, error type. */
function context(line: string): string {
  try {
    const j = JSON.parse(line) as Json;
    return [j.msg, j.method, j.path, j.operation, j.err?.type, j.action, j.target?.name].filter((x) => typeof x === 'string').join(' ');
  } catch {
    return '(not JSON)';
  }
}

async function authTokens(h: Harness, identity: Json, scope?: Json): Promise<Response> {
  return fetch(`${h.url}/identity/v3/auth/tokens`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: { identity, ...(scope ? { scope } : {}) } }),
  });
}

/** Makes the gateway see secrets in bodies, headers and failed logins. Statuses are not the point here, the logs are. */
async function exerciseLocal(h: Harness): Promise<number> {
  let requests = 1; // the admin login of startGateway
  const count = async <T>(p: Promise<T>) => { requests++; return p; };
  await count(h.request('GET', '/compute/v2.1/flavors'));
  const self = await count(h.request('GET', '/identity/v3/auth/tokens', { headers: { 'x-subject-token': h.adminToken } }));
  const adminId = (self.json as Json | undefined)?.token?.user?.id as string | undefined;

  const wrong = `zz-wrong-password-${randomBytes(4).toString('hex')}`;
  registerSecret(wrong, 'a wrong admin password (secrets scan)');
  await count(authTokens(h, { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: wrong } } }));

  const forged = `AQAAAAE${randomBytes(160).toString('base64url')}`;
  registerSecret(forged, 'a forged token (secrets scan)');
  await count(h.request('GET', '/compute/v2.1/servers', { token: forged }));
  await count(h.request('GET', '/identity/v3/auth/tokens', { headers: { 'x-subject-token': forged } }));

  const bearer = `zz-bearer-${randomBytes(8).toString('hex')}`;
  registerSecret(bearer, 'an Authorization header (secrets scan)');
  await count(h.request('GET', '/image/v2/images', { headers: { authorization: `Bearer ${bearer}` } }));

  const rawPw = `zz-raw-body-pw-${randomBytes(4).toString('hex')}`;
  registerSecret(rawPw, 'a password in a malformed body (secrets scan)');
  await count(h.request('POST', '/identity/v3/auth/tokens', { token: null, raw: `{"auth":{"identity":{"password":{"user":{"name":"admin","password":"${rawPw}"` , headers: { 'content-type': 'application/json' } }));

  const userPw = `zz-user-pw-${randomBytes(4).toString('hex')}`;
  registerSecret(userPw, 'password of zz-scan-user (secrets scan)');
  const made = await count(h.request('POST', '/identity/v3/users', { body: { user: { name: 'zz-scan-user', password: userPw, domain_id: 'default' } } }));
  const userId = (made.json as Json | undefined)?.user?.id as string | undefined;
  if (userId) {
    await count(h.login('zz-scan-user', userPw));
    const newPw = `zz-user-new-pw-${randomBytes(4).toString('hex')}`;
    registerSecret(newPw, 'new password of zz-scan-user (secrets scan)');
    await count(h.request('POST', `/identity/v3/users/${userId}/password`, { body: { user: { password: newPw, original_password: userPw } } }));
    await count(h.request('PATCH', `/identity/v3/users/${userId}`, { body: { user: { password: `${newPw}-patched` } } }));
    registerSecret(`${newPw}-patched`, 'patched password of zz-scan-user (secrets scan)');
  }

  if (adminId) {
    const ac = await count(h.request('POST', `/identity/v3/users/${adminId}/application_credentials`, { body: { application_credential: { name: 'zz-scan-ac' } } }));
    const cred = (ac.json as Json | undefined)?.application_credential as Json | undefined;
    if (cred?.secret) {
      registerSecret(cred.secret, 'an application credential secret (secrets scan)');
      const res = await count(authTokens(h, { methods: ['application_credential'], application_credential: { id: cred.id, secret: cred.secret } }));
      registerSecret(res.headers.get('x-subject-token'), 'an application credential token (secrets scan)');
      await count(authTokens(h, { methods: ['application_credential'], application_credential: { id: cred.id, secret: `${cred.secret}x` } }));
    }
  }

  const kp = await count(h.request('POST', '/compute/v2.1/os-keypairs', { body: { keypair: { name: 'zz-scan-kp' } } }));
  const priv = (kp.json as Json | undefined)?.keypair?.private_key as string | undefined;
  if (priv) for (const l of priv.split('\n')) if (l.length >= 40 && !l.startsWith('-----')) registerSecret(l, 'a line of a generated private key (secrets scan)');

  // A token sent back as a token in a token-auth request body.
  await count(authTokens(h, { methods: ['token'], token: { id: h.adminToken } }, { project: { name: 'admin', domain: { id: 'default' } } }));
  await count(h.request('DELETE', '/identity/v3/auth/tokens', { headers: { 'x-subject-token': forged } }));
  return requests;
}

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  return port;
}

const SERVICE_ENV = 'STACKGATE_TEST_SECRETS_SCAN_PW';

/**
 * An OpenStack region whose Keystone is down: the gateway's service-account
 * login fails on the way, a 503 whose cause the fault hook logs.
 */
async function exerciseDeadUpstream(): Promise<void> {
  const port = await closedPort();
  const pw = `zz-service-pw-${randomBytes(6).toString('hex')}`;
  registerSecret(pw, 'the service account password of an OpenStack region (secrets scan)');
  process.env[SERVICE_ENV] = pw;
  const account = { username: 'zz-scan-service', passwordEnv: SERVICE_ENV, projectName: 'service', userDomainName: 'Default', projectDomainName: 'Default' };
  const h = await startGateway({
    regions: [{ name: 'ZzDown', backend: 'openstack', openstack: { authUrl: `http://127.0.0.1:${port}/v3`, credentials: 'service', serviceAccount: account, services: ['image'], timeoutMs: 1500 } }],
  });
  try {
    await h.request('GET', '/region/ZzDown/image/v2/images');
  } finally {
    await h.close();
    delete process.env[SERVICE_ENV];
  }
}

interface Scan { files: string[]; lines: number; accessLines: number; auditLines: number; perFile: Map<string, { lines: number; access: number }>; leaks: Leak[] }

function scanDir(dir: string): Scan {
  snapshotTestLogs();
  const files = readdirSync(dir).filter((f) => f.endsWith('.log')).sort();
  const scan: Scan = { files, lines: 0, accessLines: 0, auditLines: 0, perFile: new Map(), leaks: [] };
  for (const file of files) {
    const text = readFileSync(join(dir, file), 'utf8');
    let n = 0; let access = 0;
    text.split('\n').forEach((line, i) => {
      if (!line) return;
      n++;
      if (line.includes('"msg":"request"')) access++;
      if (file.endsWith('.audit.log')) scan.auditLines++;
      const seen = new Set<string>();
      for (const f of scanLine(line) as Finding[]) {
        if (seen.has(f.kind + f.detail)) continue;
        seen.add(f.kind + f.detail);
        scan.leaks.push({ file, line: i + 1, kind: f.kind, detail: f.detail, context: context(line) });
      }
    });
    scan.lines += n;
    scan.accessLines += access;
    scan.perFile.set(file, { lines: n, access });
  }
  return scan;
}

describe('secrets: no log or audit line of the run holds a token, password, API key or secret', function () {
  this.timeout(120_000);
  let before0: string[];
  let ownRequests = 0;
  let scan: Scan;

  before(async () => {
    before0 = existsSync(TEST_LOG_DIR) ? readdirSync(TEST_LOG_DIR).filter((f) => f.endsWith('.log')) : [];
    const h = await startGateway();
    try {
      ownRequests = await exerciseLocal(h);
    } finally {
      await h.close();
    }
    await exerciseDeadUpstream();
    const sl = await startSoftLayerGateway();
    try {
      await sl.gw.request('GET', '/compute/v2.1/servers', { token: sl.token });
      await sl.gw.login(sl.account.username, 'f'.repeat(64), sl.account.project).catch(() => undefined);
      await sl.gw.login(sl.account.username, `${sl.account.apiKey.slice(0, 60)}0000`, sl.account.project).catch(() => undefined);
    } finally {
      await sl.close();
    }
    const cs = await startCloudStackGateway();
    try {
      await cs.gw.request('GET', '/compute/v2.1/servers', { token: cs.token });
      await cs.gw.login(cs.account.apiKey, `${cs.account.secretKey.slice(0, 80)}AAAAAA`, cs.account.project).catch(() => undefined);
    } finally {
      await cs.close();
    }
    scan = scanDir(TEST_LOG_DIR);
  });

  // The logs go when the run ends (test/helpers/secrets.ts) unless something leaked: then they stay to be looked at.
  after(() => { if (!scan || scan.leaks.length > 0) keepTestLogs(); });

  it('the scanner catches what it looks for', () => {
    const secret = `zz-planted-${randomBytes(6).toString('hex')}`;
    registerSecret(secret, 'a planted secret');
    const token = `AQAAAAE${randomBytes(150).toString('base64url')}`;
    const cases: Array<[string, RegExp]> = [
      [JSON.stringify({ msg: 'x', note: `a ${secret} b` }), /registered secret/],
      [JSON.stringify({ msg: 'x', err: { message: `bad token ${token}` } }), /stackgate token/],
      [JSON.stringify({ msg: 'x', body: { auth: { password: 'hunter22' } } }), /unredacted field body.auth.password/],
      [JSON.stringify({ msg: 'x', err: { message: 'GET /x?apikey=abcdefgh&response=json' } }), /query string/],
      [JSON.stringify({ msg: 'x', raw: '{"password":"hunter22"}' }), /JSON text/],
      [JSON.stringify({ msg: 'x', err: { message: 'headers: X-Auth-Token: abcdef123456' } }), /token header/],
      [JSON.stringify({ msg: 'x', err: { message: 'Authorization: Bearer abcdef123456' } }), /Authorization/],
      [JSON.stringify({ msg: 'x', url: `https://ks/v3?gAAAAAB${randomBytes(80).toString('base64url')}` }), /fernet/],
      [JSON.stringify({ msg: 'x', apiKey: randomBytes(32).toString('hex') }), /apiKey|64-hex/],
    ];
    for (const [line, kind] of cases) expect(scanLine(line).map((f) => f.kind).join('; '), line.slice(0, 80)).to.match(kind);
    for (const ok of [
      JSON.stringify({ msg: 'request', method: 'POST', path: '/identity/v3/auth/tokens', status: 201, req: { headers: { 'x-auth-token': '***', authorization: '[Redacted]' } }, password: '***' }),
      JSON.stringify({ msg: 'request', path: `/compute/v2.1/servers/${randomBytes(16).toString('hex')}`, checksum: randomBytes(32).toString('hex') }),
    ]) expect(scanLine(ok)).to.deep.equal([]);
    expect(mask(secret)).to.not.contain(secret.slice(2, 6));
  });

  it('scanned every log and audit file of the run, access log lines included', () => {
    const own = scan.files.filter((f) => f.includes('zz-secrets-scan') && !f.endsWith('.audit.log'));
    expect(own, 'this file\'s own gateways logged').to.have.length.of.at.least(4);
    const first = scan.perFile.get(own[0]!)!;
    expect(first.access, `access log lines of ${own[0]}`).to.be.at.least(ownRequests);
    expect(scan.files.filter((f) => f.endsWith('.audit.log')).length, 'audit logs').to.be.at.least(1);
    expect(scan.auditLines, 'audit lines').to.be.at.least(5);
    // Run with the rest of the suite: their gateways' logs are here too.
    if (before0.length > 0) {
      expect(scan.files.length).to.be.at.least(before0.length);
      expect(scan.accessLines).to.be.above(first.access);
    }
    expect(registeredSecrets().size, 'registered secrets').to.be.at.least(5);
    console.log(`      secrets scan: ${scan.files.length} files (${before0.length} from other tests), ${scan.lines} lines, ${scan.accessLines} access log lines, ${scan.auditLines} audit lines, ${registeredSecrets().size} registered secrets, in ${TEST_LOG_DIR}`);
  });

  it('found no secret in any line', () => {
    if (scan.leaks.length > 0) {
      const byKind = new Map<string, number>();
      for (const l of scan.leaks) byKind.set(l.kind, (byKind.get(l.kind) ?? 0) + 1);
      const shown = scan.leaks.slice(0, 40).map((l) => `  ${l.file}:${l.line}: ${l.kind}: ${l.detail} [${l.context}]`);
      keepTestLogs();
      expect.fail(`${scan.leaks.length} leaks in ${TEST_LOG_DIR} (kept) (${[...byKind].map(([k, n]) => `${k}: ${n}`).join(', ')}):\n${shown.join('\n')}`);
    }
  });
});
