/** src/hooks/audit: one CADF record per mutating request, with no secrets in it. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { expect } from 'chai';
import Koa from 'koa';
import { SERVICES } from '../../generated/services.js';
import { Fault } from '../../src/faults.js';
import { auditAction, auditHook, openAuditFile, type AuditOptions } from '../../src/hooks/audit.js';
import { faultHook } from '../../src/hooks/faults.js';
import { requestIdHook } from '../../src/hooks/request-id.js';
import { createLogger } from '../../src/log.js';
import type { GatewayState } from '../../src/state.js';

interface TestServer { url: string; close(): Promise<void> }

/**
 * request id → faults → fake service/auth context (X-Test-Project) → audit → a handler
 * whose answer depends on the path: /fail-404 throws a Fault, /boom an Error,
 * /conflict an http-errors style error, /bad answers 400 without throwing.
 */
async function serve(opts: AuditOptions): Promise<TestServer> {
  const app = new Koa<GatewayState>();
  app.silent = true;
  app.use(requestIdHook());
  app.use(faultHook(createLogger('silent')));
  app.use(async (ctx, next) => {
    ctx.state.service = SERVICES.find((s) => ctx.path.startsWith(`${s.prefix}/`));
    const project = ctx.get('x-test-project');
    ctx.state.auth = project
      ? { userId: 'u-1', userName: 'alice', userDomainId: 'default', projectId: project, roles: ['member'], isAdmin: false, auditId: 'aud', expiresAt: '' }
      : null;
    ctx.state.operationId = ctx.get('x-test-operation') || undefined;
    await next();
  });
  app.use(auditHook(opts));
  app.use((ctx) => {
    if (ctx.path.endsWith('/fail-404')) throw Fault.notFound('Server fail-404 could not be found.');
    if (ctx.path.endsWith('/boom')) throw new Error('driver exploded');
    if (ctx.path.endsWith('/conflict')) throw Object.assign(new Error('busy'), { status: 409, expose: true });
    if (ctx.path.endsWith('/bad')) { ctx.status = 400; ctx.body = { badRequest: { code: 400, message: 'no' } }; return; }
    if (ctx.path.endsWith('/auth/tokens')) ctx.set('X-Subject-Token', 'issued-token-value');
    ctx.status = ctx.method === 'DELETE' ? 204 : ctx.method === 'POST' ? 202 : 200;
    if (ctx.status !== 204) ctx.body = { ok: true };
  });
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }),
  };
}

describe('audit', () => {
  let lines: string[];
  let srv: TestServer;
  beforeEach(async () => {
    lines = [];
    srv = await serve({ write: (line) => lines.push(line) });
  });
  afterEach(() => srv.close());

  async function call(method: string, path: string, init: { headers?: Record<string, string>; body?: unknown } = {}) {
    const res = await fetch(srv.url + path, {
      method,
      headers: { accept: 'application/json', 'content-type': 'application/json', 'x-test-project': 'p-1', ...init.headers },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    await res.arrayBuffer();
    return res;
  }
  // any: the assertions walk nested JSON; typing every record field would only restate the hook.
  const records = () => lines.map((l) => JSON.parse(l) as Record<string, any>);

  it('writes one complete record per mutating call', async () => {
    const res = await call('POST', '/compute/v2.1/servers', {
      headers: { 'user-agent': 'python-novaclient', 'x-test-operation': 'compute.servers.create' },
      body: { server: { name: 'vm' } },
    });
    expect(lines).to.have.length(1);
    const [r] = records();
    expect(r.id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(r.eventTime).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Math.abs(Date.parse(r.eventTime) - Date.now())).to.be.below(10_000);
    expect(r.initiator.host.address).to.match(/127\.0\.0\.1$/);
    const { id: _id, eventTime: _t, ...rest } = r;
    rest.initiator.host.address = 'ip';
    expect(rest).to.deep.equal({
      typeURI: 'http://schemas.dmtf.org/cloud/audit/1.0/event',
      eventType: 'activity',
      action: 'create',
      outcome: 'success',
      reason: { reasonType: 'HTTP', reasonCode: '202' },
      initiator: {
        typeURI: 'service/security/account/user',
        id: 'u-1',
        project_id: 'p-1',
        host: { address: 'ip', agent: 'python-novaclient' },
      },
      target: { typeURI: 'service/compute', id: 'compute.servers.create', name: 'POST /compute/v2.1/servers' },
      observer: { typeURI: 'service/gateway', id: 'stackgate' },
      requestId: res.headers.get('x-openstack-request-id'),
    });
  });

  it('writes nothing for reads', async () => {
    for (const m of ['GET', 'HEAD', 'OPTIONS']) await call(m, '/compute/v2.1/servers');
    expect(lines).to.deep.equal([]);
  });

  it('names the action', async () => {
    await call('POST', '/compute/v2.1/servers/s-1/action', { body: { reboot: { type: 'SOFT' } } });
    await call('PUT', '/compute/v2.1/servers/s-1', { body: { server: { name: 'n' } } });
    await call('PATCH', '/network/v2.0/ports/p-1', { body: {} });
    await call('DELETE', '/compute/v2.1/servers/s-1');
    await call('POST', '/identity/v3/auth/tokens', { headers: { 'x-test-project': '' }, body: {} });
    await call('POST', '/identity/v2.0/tokens', { headers: { 'x-test-project': '' }, body: {} });
    expect(records().map((r) => r.action)).to.deep.equal(['create/action', 'update', 'update', 'delete', 'authenticate', 'authenticate']);
    const token = records()[4];
    expect(token.initiator.id).to.equal('anonymous');
    expect(token.initiator).to.not.have.property('project_id');
    expect(token.target.typeURI).to.equal('service/identity');
    expect(records()[2].target.typeURI).to.equal('service/network');
  });

  it('records failures: answered 4xx, thrown Faults, thrown errors, off-service paths', async () => {
    expect((await call('POST', '/compute/v2.1/servers/bad', { body: {} })).status).to.equal(400);
    expect((await call('DELETE', '/compute/v2.1/servers/fail-404')).status).to.equal(404);
    expect((await call('PUT', '/compute/v2.1/servers/conflict', { body: {} })).status).to.equal(409);
    expect((await call('POST', '/compute/v2.1/servers/boom', { body: {} })).status).to.equal(500);
    await call('POST', '/nowhere/at/all', { body: {} });
    const got = records().map((r) => [r.outcome, r.reason.reasonCode]);
    expect(got.slice(0, 4)).to.deep.equal([['failure', '400'], ['failure', '404'], ['failure', '409'], ['failure', '500']]);
    expect(records()[4].target.typeURI).to.equal('service/unknown');
    expect(records()[4].target.id).to.equal('');
  });

  it('keeps tokens, bodies, query strings and other headers out', async () => {
    await call('POST', '/identity/v3/auth/tokens?nocatalog=secret-query-value', {
      headers: { 'X-Auth-Token': 'secret-token-value', cookie: 'session=secret-cookie-value', 'x-test-project': '' },
      body: { auth: { identity: { methods: ['password'], password: { user: { name: 'alice', password: 'hunter2-password' } } } } },
    });
    await call('PUT', '/compute/v2.1/servers/s-1?marker=secret-query-value', {
      headers: { 'X-Auth-Token': 'secret-token-value' },
      body: { server: { adminPass: 'hunter2-password' } },
    });
    expect(lines).to.have.length(2);
    for (const line of lines) {
      for (const secret of ['secret-token-value', 'hunter2', 'secret-query-value', 'secret-cookie-value', 'issued-token-value', 'alice', '?']) {
        expect(line).to.not.contain(secret);
      }
    }
    expect(records()[1].target.name).to.equal('PUT /compute/v2.1/servers/s-1');
  });

  it('a failing writer neither fails the request nor goes unreported', async () => {
    const errors: unknown[] = [];
    const broken = await serve({ write: () => { throw new Error('disk full'); }, onError: (e) => errors.push(e) });
    try {
      const res = await fetch(`${broken.url}/compute/v2.1/servers`, { method: 'POST' });
      expect(res.status).to.equal(202);
      const thrown = await fetch(`${broken.url}/compute/v2.1/servers/fail-404`, { method: 'DELETE', headers: { accept: 'application/json' } });
      expect(thrown.status).to.equal(404); // the request's own error wins over the writer's
      expect(await thrown.json()).to.have.nested.property('itemNotFound.code', 404);
    } finally {
      await broken.close();
    }
    expect(errors.map((e) => (e as Error).message)).to.deep.equal(['disk full', 'disk full']);
  });

  it('auditAction', () => {
    expect(auditAction('GET', '/compute/v2.1/servers')).to.equal(undefined);
    expect(auditAction('post', '/compute/v2.1/servers/s/action/')).to.equal('create/action');
    expect(auditAction('DELETE', '/identity/v3/auth/tokens')).to.equal('delete');
  });
});

describe('audit file', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'stackgate-audit-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the directory and appends one line per record', async () => {
    const path = join(dir, 'nested', 'deeper', 'audit.jsonl');
    let f = openAuditFile(path);
    f.write(JSON.stringify({ n: 1 }));
    f.write(JSON.stringify({ n: 2 }));
    await f.close();
    f = openAuditFile(path); // reopening appends rather than truncates
    f.write(JSON.stringify({ n: 3 }));
    await f.close();
    const text = readFileSync(path, 'utf8');
    expect(text.endsWith('\n')).to.equal(true);
    expect(text.trimEnd().split('\n').map((l) => JSON.parse(l).n)).to.deep.equal([1, 2, 3]);
  });

  it('fails at open, not later, when the file cannot be written', () => {
    expect(() => openAuditFile(dir)).to.throw(/EISDIR/); // a directory is no file to append to
  });
});
