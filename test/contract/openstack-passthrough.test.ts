/**
 * The OpenStack passthrough in detail: a real Keystone (service account) and
 * Glance from Debian, plus a stand-in "Nova" on loopback whose answers the
 * test chooses (headers it receives, links, faults, resets, silence), to see
 * what reaches the upstream and what comes back.
 */
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startGateway, type Harness } from '../helpers/gateway.js';
import { sharedUpstream, upstreamAvailable, type UpstreamOpenStack } from '../helpers/upstream-openstack.js';

const SERVICE_ENV = 'STACKGATE_TEST_PASSTHROUGH_PW';

interface Seen { method: string; url: string; headers: IncomingMessage['headers']; body: string }

/** A stand-in Nova: records each request and answers as `reply` says. */
async function fakeNova(): Promise<{ url: string; seen: Seen[]; reply: (req: Seen, res: ServerResponse, root: string) => void; close(): Promise<void> }> {
  const state = {
    seen: [] as Seen[],
    reply: (_req: Seen, res: ServerResponse, _root: string) => { res.writeHead(200, { 'content-type': 'application/json' }).end('{}'); },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() };
      state.seen.push(seen);
      state.reply(seen, res, root);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const root = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: root,
    get seen() { return state.seen; },
    set reply(fn) { state.reply = fn; },
    get reply() { return state.reply; },
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

describe('OpenStack passthrough: streaming, headers, links, faults', function () {
  this.timeout(120_000);
  let up: UpstreamOpenStack;
  let nova: Awaited<ReturnType<typeof fakeNova>>;
  let h: Harness;
  let closedPort: number;

  before(async function () {
    if (!upstreamAvailable()) this.skip(); // CI installs Debian's keystone and glance (.ci/run)
    up = await sharedUpstream();
    nova = await fakeNova();
    // A port nothing listens on: bound, then closed.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    process.env[SERVICE_ENV] = up.admin.password;
    const account = { username: up.admin.username, passwordEnv: SERVICE_ENV, projectName: up.admin.projectName, userDomainName: 'Default', projectDomainName: 'Default' };
    h = await startGateway({
      limits: { maxBodyBytes: 1024 * 1024 },
      regions: [
        { name: 'Up', backend: 'openstack', openstack: { authUrl: `${up.keystoneUrl}/v3`, credentials: 'service', serviceAccount: account, services: ['image', 'compute'], endpoints: { compute: `${nova.url}/v2.1` }, timeoutMs: 1500 } },
        { name: 'Down', backend: 'openstack', openstack: { authUrl: `${up.keystoneUrl}/v3`, credentials: 'service', serviceAccount: account, services: ['image'], endpoints: { image: `http://127.0.0.1:${closedPort}` } } },
      ],
    });
  });
  after(async () => {
    await h?.close();
    await nova?.close();
    delete process.env[SERVICE_ENV];
  });

  it('streams a 48 MB image up and down through the real Glance, bytes equal', async () => {
    const made = await h.request('POST', '/region/Up/image/v2/images', { body: { name: `big-${randomBytes(3).toString('hex')}`, disk_format: 'raw', container_format: 'bare' } });
    expect(made.status).to.equal(201);
    expect(made.headers.get('location')).to.match(new RegExp(`^${h.url}/region/Up/image/v2/images/`));
    const id = (made.json as { id: string }).id;
    const data = randomBytes(48 * 1024 * 1024);
    // 48 times the gateway's JSON body limit: it cannot have been buffered as a body.
    const put = await fetch(`${h.url}/region/Up/image/v2/images/${id}/file`, { method: 'PUT', headers: { 'x-auth-token': h.adminToken, 'content-type': 'application/octet-stream' }, body: data });
    expect(put.status, await put.text()).to.equal(204);
    const got = await fetch(`${h.url}/region/Up/image/v2/images/${id}/file`, { headers: { 'x-auth-token': h.adminToken } });
    expect(got.status).to.equal(200);
    expect(got.headers.get('content-md5')).to.equal(createHash('md5').update(data).digest('hex'));
    const back = Buffer.from(await got.arrayBuffer());
    expect(back.length).to.equal(data.length);
    expect(back.equals(data)).to.equal(true);
    expect((await h.request('DELETE', `/region/Up/image/v2/images/${id}`)).status).to.equal(204);
  });

  it('passes Glance\'s own faults back unchanged', async () => {
    const missing = await h.request('GET', `/region/Up/image/v2/images/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`);
    expect(missing.status).to.equal(404);
    const direct = await fetch(`${up.glanceUrl}/v2/images/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`, { headers: { 'x-auth-token': (await upstreamToken(up)), accept: 'application/json' } });
    expect(missing.json).to.deep.equal(await direct.json());
  });

  it('sends the upstream token, the microversion and the request id up; rewrites links and Location; returns the upstream\'s version header', async () => {
    nova.reply = (req, res, root) => {
      res.writeHead(202, { 'content-type': 'application/json', location: `${root}/v2.1/servers/abc`, 'openstack-api-version': 'compute 2.79', 'x-openstack-request-id': 'req-11111111-2222-4333-8444-555555555555' });
      res.end(JSON.stringify({ server: { id: 'abc', links: [{ rel: 'self', href: `${root}/v2.1/servers/abc` }], adminPass: 'x' } }));
    };
    const res = await h.request('POST', '/region/Up/compute/v2.1/servers', {
      headers: { 'openstack-api-version': 'compute 2.79', 'x-openstack-request-id': 'req-aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee' },
      body: { server: { name: 'fwd', imageRef: '70a599e0-31e7-49b7-b260-868f441e862b', flavorRef: '1', networks: 'none' } },
    });
    expect(res.status, res.text).to.equal(202);
    const seen = nova.seen.at(-1)!;
    expect(seen.url).to.equal('/v2.1/servers');
    expect(seen.headers['x-auth-token']).to.be.a('string').and.not.equal(h.adminToken);
    expect(seen.headers['openstack-api-version']).to.equal('compute 2.79');
    expect(seen.headers['x-openstack-request-id']).to.equal('req-aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee');
    expect(JSON.parse(seen.body)).to.deep.include({ server: { name: 'fwd', imageRef: '70a599e0-31e7-49b7-b260-868f441e862b', flavorRef: '1', networks: 'none' } });
    expect(res.headers.get('location')).to.equal(`${h.url}/region/Up/compute/v2.1/servers/abc`);
    expect(res.headers.get('openstack-api-version')).to.equal('compute 2.79');
    expect(res.headers.get('x-openstack-request-id')).to.equal('req-11111111-2222-4333-8444-555555555555');
    expect(res.text).to.contain(`${h.url}/region/Up/compute/v2.1/servers/abc`).and.not.contain(nova.url);
  });

  it('validates before forwarding: a bad body never reaches the upstream', async () => {
    const before = nova.seen.length;
    const res = await h.request('POST', '/region/Up/compute/v2.1/servers', { body: { server: { name: 7 } } });
    expect(res.status).to.equal(400);
    expect(nova.seen.length).to.equal(before);
  });

  it('an upstream 5xx or a non-JSON fault comes back as the upstream gave it', async () => {
    nova.reply = (_req, res) => { res.writeHead(500, { 'content-type': 'text/html' }).end('<html>boom</html>'); };
    const res = await h.request('GET', '/region/Up/compute/v2.1/flavors');
    expect(res.status).to.equal(500);
    expect(res.text).to.equal('<html>boom</html>');
  });

  it('a success that is not JSON, a reset and silence are 502, 503 and 504 faults in Nova\'s format', async () => {
    nova.reply = (_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }).end('{"flavors": ['); };
    const bad = await h.request('GET', '/region/Up/compute/v2.1/flavors');
    expect(bad.status).to.equal(502);
    expect(bad.json).to.have.nested.property('computeFault.code', 502);

    nova.reply = (_req, res) => { res.socket?.destroy(); };
    const reset = await h.request('GET', '/region/Up/compute/v2.1/flavors');
    expect(reset.status).to.equal(503);
    expect(reset.headers.get('retry-after')).to.equal('5');

    nova.reply = () => { /* never answers; timeoutMs is 1500 */ };
    const started = Date.now();
    const silent = await h.request('GET', '/region/Up/compute/v2.1/flavors');
    expect(silent.status).to.equal(504);
    expect(Date.now() - started).to.be.below(10_000);
    expect(silent.headers.get('retry-after')).to.equal('5');
  });

  it('an upstream that cannot be reached is a 503 fault in Glance\'s format, and the gateway stays up', async () => {
    const res = await h.request('GET', '/region/Down/image/v2/images');
    expect(res.status).to.equal(503);
    expect(res.text, res.text).to.match(/unreachable/);
    expect(res.headers.get('retry-after')).to.equal('5');
    expect((await h.request('GET', '/region/Up/image/v2/images')).status).to.equal(200);
  });
});

async function upstreamToken(up: UpstreamOpenStack): Promise<string> {
  const res = await fetch(`${up.keystoneUrl}/v3/auth/tokens`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: {
      identity: { methods: ['password'], password: { user: { name: up.admin.username, domain: { id: 'default' }, password: up.admin.password } } },
      scope: { project: { name: up.admin.projectName, domain: { id: 'default' } } },
    } }),
  });
  return res.headers.get('x-subject-token')!;
}
