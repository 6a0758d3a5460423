/** The access log: one JSON line per request, with no token or password in it. */
import { expect } from 'chai';
import { Writable } from 'node:stream';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGateway, openIdentity } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { bootstrapIdentity } from '../../src/identity/bootstrap.js';

describe('access log and audit log', function () {
  this.timeout(60_000);
  it('log one line per request with request id and operation, and never a token or password', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-log-'));
    const lines: string[] = [];
    const sink = new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(...chunk.toString().split('\n').filter(Boolean)); cb(); } });
    const config = loadConfig({ overrides: { dataDir: dir, listen: { port: 0 }, log: { level: 'info' } } });
    const { identity, store } = openIdentity(config, undefined, { createKeys: true });
    await bootstrapIdentity(identity, { adminPassword: 'very-secret-password' });
    store.close();
    const gw = await createGateway({ config, logger: createLogger('info', sink) });
    const url = await gw.listen(0, '127.0.0.1');
    try {
      const auth = await fetch(`${url}/identity/v3/auth/tokens`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: 'very-secret-password' } } }, scope: { project: { name: 'admin', domain: { id: 'default' } } } } }),
      });
      const token = auth.headers.get('x-subject-token')!;
      const list = await fetch(`${url}/compute/v2.1/flavors`, { headers: { 'x-auth-token': token } });
      const rid = list.headers.get('x-openstack-request-id');
      await fetch(`${url}/identity/v3/users`, { method: 'POST', headers: { 'x-auth-token': token, 'content-type': 'application/json' }, body: JSON.stringify({ user: { name: 'dave', password: 'daves-password' } }) });
      await gw.close();
      const all = lines.join('\n');
      expect(all).to.not.contain(token);
      expect(all).to.not.contain('very-secret-password');
      expect(all).to.not.contain('daves-password');
      const entry = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.requestId === rid);
      expect(entry).to.include({ method: 'GET', path: '/compute/v2.1/flavors', status: 200, operation: 'compute.flavors.list' });
      const audit = readFileSync(join(dir, 'audit.log'), 'utf8');
      expect(audit).to.contain('identity.users.create').and.contain('"outcome":"success"');
      expect(audit).to.not.contain('daves-password').and.not.contain(token);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
