/**
 * The real upstream the passthrough driver's tests run against (Debian's
 * Keystone and Glance on loopback, test/helpers/upstream-openstack.ts),
 * checked directly, without stackgate: if these fail, passthrough failures
 * are about the upstream, not the driver.
 */
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { sharedUpstream, upstreamAvailable, type Credentials, type UpstreamOpenStack } from '../helpers/upstream-openstack.js';

interface TokenBody {
  token: {
    user: { name: string };
    project: { name: string; id: string };
    roles: { name: string }[];
    catalog: { type: string; endpoints: { interface: string; url: string; region: string }[] }[];
  };
}

async function issue(u: UpstreamOpenStack, c: Credentials): Promise<{ token: string; body: TokenBody }> {
  const res = await fetch(`${u.keystoneUrl}/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: {
      identity: { methods: ['password'], password: { user: { name: c.username, domain: { name: c.userDomainName }, password: c.password } } },
      scope: { project: { name: c.projectName, domain: { name: c.projectDomainName } } },
    } }),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  expect(res.status, text).to.equal(201);
  const token = res.headers.get('x-subject-token');
  expect(token).to.be.a('string').and.not.empty;
  return { token: token!, body: JSON.parse(text) as TokenBody };
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

describe('upstream OpenStack (real Keystone + Glance on loopback)', function () {
  this.timeout(90_000);
  let u: UpstreamOpenStack;

  before(async function () {
    if (!upstreamAvailable()) this.skip();
    u = await sharedUpstream();
  });

  it('listens on loopback only', () => {
    for (const url of [u.keystoneUrl, u.glanceUrl]) expect(new URL(url).hostname).to.equal('127.0.0.1');
  });

  it('issues and validates an admin password token; the catalog has identity and image', async function () {
    this.timeout(30_000);
    const { token, body } = await issue(u, u.admin);
    expect(body.token.user.name).to.equal(u.admin.username);
    expect(body.token.project.name).to.equal(u.admin.projectName);
    expect(body.token.roles.map((r) => r.name)).to.include('admin');
    const byType = Object.fromEntries(body.token.catalog.map((s) => [s.type, s.endpoints]));
    expect(byType.identity?.find((e) => e.interface === 'public')).to.include({ url: `${u.keystoneUrl}/v3`, region: u.region });
    expect(byType.image?.find((e) => e.interface === 'public')).to.include({ url: u.glanceUrl, region: u.region });

    const v = await fetch(`${u.keystoneUrl}/v3/auth/tokens`, { headers: { 'x-auth-token': token, 'x-subject-token': token }, signal: AbortSignal.timeout(20_000) });
    const vText = await v.text();
    expect(v.status, vText).to.equal(200);
    expect((JSON.parse(vText) as TokenBody).token.user.name).to.equal(u.admin.username);

    const bogus = await fetch(`${u.keystoneUrl}/v3/auth/tokens`, { headers: { 'x-auth-token': token, 'x-subject-token': `${token.slice(0, -4)}AAAA` }, signal: AbortSignal.timeout(20_000) });
    await bogus.arrayBuffer();
    expect(bogus.status).to.equal(404);
  });

  it('issues a demo token: member, not admin, on project demo', async function () {
    this.timeout(30_000);
    const { body } = await issue(u, u.demo);
    expect(body.token.project.name).to.equal('demo');
    const roles = body.token.roles.map((r) => r.name);
    expect(roles).to.include('member');
    expect(roles).to.not.include('admin');
  });

  it('Glance: the demo user uploads 1 MB, downloads the same bytes, and lists the image', async function () {
    this.timeout(60_000);
    const { token, body } = await issue(u, u.demo);
    const headers = { 'x-auth-token': token };
    const name = `contract-${randomBytes(4).toString('hex')}`;
    const created = await fetch(`${u.glanceUrl}/v2/images`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ name, disk_format: 'raw', container_format: 'bare' }),
      signal: AbortSignal.timeout(20_000),
    });
    const createdText = await created.text();
    expect(created.status, createdText).to.equal(201);
    const image = JSON.parse(createdText) as { id: string; status: string; owner: string };
    expect(image.status).to.equal('queued');
    expect(image.owner).to.equal(body.token.project.id);

    try {
      const data = randomBytes(1 << 20);
      const put = await fetch(`${u.glanceUrl}/v2/images/${image.id}/file`, {
        method: 'PUT',
        headers: { ...headers, 'content-type': 'application/octet-stream' },
        body: data,
        signal: AbortSignal.timeout(30_000),
      });
      expect(put.status, await put.text()).to.equal(204);

      const shown = await fetch(`${u.glanceUrl}/v2/images/${image.id}`, { headers, signal: AbortSignal.timeout(20_000) });
      const after = (await shown.json()) as { status: string; size: number; os_hash_algo: string; os_hash_value: string };
      expect(after).to.include({ status: 'active', size: data.length });

      const get = await fetch(`${u.glanceUrl}/v2/images/${image.id}/file`, { headers, signal: AbortSignal.timeout(30_000) });
      expect(get.status).to.equal(200);
      const got = new Uint8Array(await get.arrayBuffer());
      expect(got.length).to.equal(data.length);
      expect(sha256(got)).to.equal(sha256(data));

      const list = await fetch(`${u.glanceUrl}/v2/images?name=${name}`, { headers, signal: AbortSignal.timeout(20_000) });
      const listed = (await list.json()) as { images: { id: string }[] };
      expect(listed.images.map((i) => i.id)).to.deep.equal([image.id]);
    } finally {
      const del = await fetch(`${u.glanceUrl}/v2/images/${image.id}`, { method: 'DELETE', headers, signal: AbortSignal.timeout(20_000) });
      await del.arrayBuffer();
      expect(del.status).to.equal(204);
    }
  });

  it('Glance rejects a request without a valid token', async function () {
    this.timeout(20_000);
    const res = await fetch(`${u.glanceUrl}/v2/images`, { headers: { 'x-auth-token': 'not-a-token' }, signal: AbortSignal.timeout(20_000) });
    await res.arrayBuffer();
    expect(res.status).to.equal(401);
  });
});
