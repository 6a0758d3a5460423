/**
 * Keystone v3 extensions and policies over HTTP, against the contract-checking
 * gateway (a response that violates the spec is a 500): OS-EC2 credentials,
 * OS-OAUTH1 consumers, OS-EP-FILTER endpoint groups and project associations,
 * domain configuration, OS-TRUST trusts and trust-scoped tokens, access rules,
 * projects acting as domains, legacy endpoint regions and the policies Tempest
 * checks (project listing, password change, effective assignments).
 */
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { startGateway, type Harness } from '../helpers/gateway.js';

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('keystone extensions', function () {
  let h: Harness;
  let memberRoleId: string;
  let n = 0;

  /** A new user with a password and the member role on a new project; returns a project token for it. */
  async function newUser(): Promise<{ id: string; name: string; password: string; projectId: string; projectName: string; token: string }> {
    n += 1;
    const projectName = `ext-project-${n}`;
    const name = `ext-user-${n}`;
    const password = `pw-${n}-secret`;
    const p = await h.request('POST', '/identity/v3/projects', { body: { project: { name: projectName, domain_id: 'default' } } });
    expect(p.status, p.text).to.equal(201);
    const projectId = (p.json as J).project.id as string;
    const u = await h.request('POST', '/identity/v3/users', { body: { user: { name, password, domain_id: 'default' } } });
    expect(u.status, u.text).to.equal(201);
    const id = (u.json as J).user.id as string;
    const g = await h.request('PUT', `/identity/v3/projects/${projectId}/users/${id}/roles/${memberRoleId}`);
    expect(g.status, g.text).to.equal(204);
    return { id, name, password, projectId, projectName, token: await h.login(name, password, projectName) };
  }

  /** A password login that must answer 401. */
  async function expectLoginRefused(name: string, password: string): Promise<void> {
    const r = await h.request('POST', '/identity/v3/auth/tokens', {
      token: null, body: { auth: { identity: { methods: ['password'], password: { user: { name, domain: { id: 'default' }, password } } } } },
    });
    expect(r.status, r.text).to.equal(401);
  }

  async function createService(): Promise<string> {
    const s = await h.request('POST', '/identity/v3/services', { body: { service: { type: `type-${++n}`, name: `svc-${n}` } } });
    expect(s.status, s.text).to.equal(201);
    return (s.json as J).service.id as string;
  }

  before(async () => {
    h = await startGateway({ contract: true });
    const roles = await h.request('GET', '/identity/v3/roles?name=member');
    memberRoleId = (roles.json as J).roles[0].id;
  });
  after(() => h.close());

  describe('OS-EC2 credentials', () => {
    it('a user creates, lists, shows and deletes their ec2 credentials; the id is the sha256 of the access key', async () => {
      const u = await newUser();
      const base = `/identity/v3/users/${u.id}/credentials/OS-EC2`;
      const c = await h.request('POST', base, { token: u.token, body: { tenant_id: u.projectId } });
      expect(c.status, c.text).to.equal(201);
      const cred = (c.json as J).credential;
      expect(cred).to.include({ user_id: u.id, tenant_id: u.projectId, trust_id: null });
      expect(cred.access).to.match(/^[0-9a-f]{32}$/);
      expect(cred.secret).to.match(/^[0-9a-f]{32}$/);
      expect(cred.links.self).to.equal(`${h.url}/identity/v3/users/${u.id}/credentials/OS-EC2/${cred.access}`);

      const list = await h.request('GET', base, { token: u.token });
      expect(list.status, list.text).to.equal(200);
      expect((list.json as J).credentials.map((x: J) => x.access)).to.deep.equal([cred.access]);

      const show = await h.request('GET', `${base}/${cred.access}`, { token: u.token });
      expect(show.status, show.text).to.equal(200);
      expect((show.json as J).credential).to.deep.equal(cred);

      // The same credential through /v3/credentials, as Keystone stores it.
      const v3 = await h.request('GET', `/identity/v3/credentials/${createHash('sha256').update(cred.access).digest('hex')}`);
      expect(v3.status, v3.text).to.equal(200);
      expect((v3.json as J).credential).to.include({ type: 'ec2', user_id: u.id, project_id: u.projectId });
      expect(JSON.parse((v3.json as J).credential.blob)).to.deep.equal({ access: cred.access, secret: cred.secret, trust_id: null });

      expect((await h.request('DELETE', `${base}/${cred.access}`, { token: u.token })).status).to.equal(204);
      expect((await h.request('GET', `${base}/${cred.access}`, { token: u.token })).status).to.equal(404);
    });

    it('another user may not see or create them; an unknown project is a 404', async () => {
      const a = await newUser();
      const b = await newUser();
      const base = `/identity/v3/users/${a.id}/credentials/OS-EC2`;
      const c = await h.request('POST', base, { token: a.token, body: { tenant_id: a.projectId } });
      const access = (c.json as J).credential.access as string;
      expect((await h.request('GET', `${base}/${access}`, { token: b.token })).status).to.equal(403);
      expect((await h.request('GET', base, { token: b.token })).status).to.equal(403);
      expect((await h.request('POST', base, { token: b.token, body: { tenant_id: b.projectId } })).status).to.equal(403);
      expect((await h.request('POST', base, { token: a.token, body: { tenant_id: 'nope' } })).status).to.equal(404);
    });
  });

  describe('OS-OAUTH1 consumers', () => {
    it('CRUD; the secret is shown on create only and cannot be changed', async () => {
      const c = await h.request('POST', '/identity/v3/OS-OAUTH1/consumers', { body: { consumer: { description: 'first' } } });
      expect(c.status, c.text).to.equal(201);
      const consumer = (c.json as J).consumer;
      expect(consumer.secret).to.be.a('string').and.not.empty;
      expect(consumer.links.self).to.equal(`${h.url}/identity/v3/OS-OAUTH1/consumers/${consumer.id}`);
      const show = await h.request('GET', `/identity/v3/OS-OAUTH1/consumers/${consumer.id}`);
      expect(show.status).to.equal(200);
      expect((show.json as J).consumer).to.deep.equal({ id: consumer.id, description: 'first', links: consumer.links });
      const bare = await h.request('POST', '/identity/v3/OS-OAUTH1/consumers', { body: { consumer: {} } });
      expect((bare.json as J).consumer.description).to.equal(null);

      const up = await h.request('PATCH', `/identity/v3/OS-OAUTH1/consumers/${consumer.id}`, { body: { consumer: { description: 'second' } } });
      expect(up.status, up.text).to.equal(200);
      expect((up.json as J).consumer).to.not.have.property('secret');
      expect((await h.request('PATCH', `/identity/v3/OS-OAUTH1/consumers/${consumer.id}`, { body: { consumer: { secret: 'x' } } })).status).to.equal(400);

      const list = await h.request('GET', '/identity/v3/OS-OAUTH1/consumers');
      expect((list.json as J).consumers.map((x: J) => x.id)).to.include(consumer.id);
      expect((list.json as J).consumers.find((x: J) => x.id === consumer.id)).to.include({ description: 'second' }).and.not.have.property('secret');

      expect((await h.request('DELETE', `/identity/v3/OS-OAUTH1/consumers/${consumer.id}`)).status).to.equal(204);
      expect((await h.request('GET', `/identity/v3/OS-OAUTH1/consumers/${consumer.id}`)).status).to.equal(404);
    });

    it('is for admins', async () => {
      const u = await newUser();
      expect((await h.request('GET', '/identity/v3/OS-OAUTH1/consumers', { token: u.token })).status).to.equal(403);
    });
  });

  describe('OS-EP-FILTER', () => {
    it('endpoint groups: create, list (same documents), show, HEAD, update, delete; bad filters are 400', async () => {
      const s1 = await createService();
      const s2 = await createService();
      const c = await h.request('POST', '/identity/v3/OS-EP-FILTER/endpoint_groups', {
        body: { endpoint_group: { name: 'g1', description: 'd1', filters: { service_id: s1 } } },
      });
      expect(c.status, c.text).to.equal(201);
      const g = (c.json as J).endpoint_group;
      expect(g).to.deep.equal({ id: g.id, name: 'g1', description: 'd1', filters: { service_id: s1 }, links: { self: `${h.url}/identity/v3/OS-EP-FILTER/endpoint_groups/${g.id}` } });
      const list = await h.request('GET', '/identity/v3/OS-EP-FILTER/endpoint_groups');
      expect((list.json as J).endpoint_groups).to.deep.include(g);
      expect((await h.request('HEAD', `/identity/v3/OS-EP-FILTER/endpoint_groups/${g.id}`)).status).to.equal(200);
      const up = await h.request('PATCH', `/identity/v3/OS-EP-FILTER/endpoint_groups/${g.id}`, { body: { endpoint_group: { name: 'g2', filters: { service_id: s2 } } } });
      expect(up.status, up.text).to.equal(200);
      expect((up.json as J).endpoint_group).to.include({ name: 'g2', description: 'd1' });
      expect((up.json as J).endpoint_group.filters).to.deep.equal({ service_id: s2 });
      const bad = await h.request('POST', '/identity/v3/OS-EP-FILTER/endpoint_groups', { body: { endpoint_group: { name: 'x', filters: { name: 'y' } } } });
      expect(bad.status).to.equal(400);
      expect((await h.request('DELETE', `/identity/v3/OS-EP-FILTER/endpoint_groups/${g.id}`)).status).to.equal(204);
      expect((await h.request('GET', `/identity/v3/OS-EP-FILTER/endpoint_groups/${g.id}`)).status).to.equal(404);
    });

    it('project associations (direct and by group) filter the project\'s catalog', async () => {
      const u = await newUser();
      const svc = await createService();
      const e = await h.request('POST', '/identity/v3/endpoints', { body: { endpoint: { service_id: svc, interface: 'public', url: 'http://a.example/x', region_id: 'RegionOne' } } });
      const endpointId = (e.json as J).endpoint.id as string;
      const full = await h.request('GET', '/identity/v3/auth/catalog', { token: u.token });
      expect((full.json as J).catalog.length).to.be.greaterThan(1);

      const g = await h.request('POST', '/identity/v3/OS-EP-FILTER/endpoint_groups', { body: { endpoint_group: { name: 'pg', filters: { service_id: svc } } } });
      const gid = (g.json as J).endpoint_group.id as string;
      const eps = await h.request('GET', `/identity/v3/OS-EP-FILTER/endpoint_groups/${gid}/endpoints`);
      expect((eps.json as J).endpoints.map((x: J) => x.id)).to.deep.equal([endpointId]);
      expect((await h.request('PUT', `/identity/v3/OS-EP-FILTER/endpoint_groups/${gid}/projects/${u.projectId}`)).status).to.equal(204);
      const assoc = await h.request('GET', `/identity/v3/OS-EP-FILTER/endpoint_groups/${gid}/projects/${u.projectId}`);
      expect(assoc.status, assoc.text).to.equal(200);
      expect((assoc.json as J).project_endpoint_group).to.include({ endpoint_group_id: gid, project_id: u.projectId });
      expect(((await h.request('GET', `/identity/v3/OS-EP-FILTER/endpoint_groups/${gid}/projects`)).json as J).projects.map((p: J) => p.id)).to.deep.equal([u.projectId]);
      expect(((await h.request('GET', `/identity/v3/OS-EP-FILTER/projects/${u.projectId}/endpoint_groups`)).json as J).endpoint_groups.map((x: J) => x.id)).to.deep.equal([gid]);

      const filtered = await h.request('GET', '/identity/v3/auth/catalog', { token: u.token });
      expect((filtered.json as J).catalog.map((s: J) => s.id)).to.deep.equal([svc]);

      // A direct association adds the identity endpoint.
      const identityEp = ((await h.request('GET', '/identity/v3/endpoints?interface=public')).json as J).endpoints.find((x: J) => x.url === `${h.url}/identity`);
      expect((await h.request('PUT', `/identity/v3/OS-EP-FILTER/projects/${u.projectId}/endpoints/${identityEp.id}`)).status).to.equal(204);
      expect((await h.request('GET', `/identity/v3/OS-EP-FILTER/projects/${u.projectId}/endpoints/${identityEp.id}`)).status).to.equal(204);
      expect((await h.request('HEAD', `/identity/v3/OS-EP-FILTER/projects/${u.projectId}/endpoints/${identityEp.id}`)).status).to.equal(204);
      const pe = await h.request('GET', `/identity/v3/OS-EP-FILTER/projects/${u.projectId}/endpoints`);
      expect((pe.json as J).endpoints.map((x: J) => x.id)).to.have.members([endpointId, identityEp.id]);
      expect(((await h.request('GET', `/identity/v3/OS-EP-FILTER/endpoints/${identityEp.id}/projects`)).json as J).projects.map((p: J) => p.id)).to.deep.equal([u.projectId]);
      const token = await h.request('POST', '/identity/v3/auth/tokens', {
        token: null, body: { auth: { identity: { methods: ['password'], password: { user: { id: u.id, password: u.password } } }, scope: { project: { id: u.projectId } } } },
      });
      expect((token.json as J).token.catalog.map((s: J) => s.type).sort()).to.deep.equal(['identity', ((await h.request('GET', `/identity/v3/services/${svc}`)).json as J).service.type].sort());

      expect((await h.request('DELETE', `/identity/v3/OS-EP-FILTER/projects/${u.projectId}/endpoints/${identityEp.id}`)).status).to.equal(204);
      expect((await h.request('GET', `/identity/v3/OS-EP-FILTER/projects/${u.projectId}/endpoints/${identityEp.id}`)).status).to.equal(404);
      expect((await h.request('DELETE', `/identity/v3/OS-EP-FILTER/endpoint_groups/${gid}/projects/${u.projectId}`)).status).to.equal(204);
      expect((await h.request('GET', `/identity/v3/OS-EP-FILTER/endpoint_groups/${gid}/projects/${u.projectId}`)).status).to.equal(404);
      const back = await h.request('GET', '/identity/v3/auth/catalog', { token: u.token });
      expect((back.json as J).catalog.length).to.equal((full.json as J).catalog.length);
    });
  });

  describe('domain configuration', () => {
    const custom = { identity: { driver: 'ldap' }, ldap: { url: 'ldap://myldap.com:389/', user_tree_dn: 'ou=Users,dc=my_new_root,dc=org' } };

    async function domain(): Promise<string> {
      const d = await h.request('POST', '/identity/v3/domains', { body: { domain: { name: `cfg-domain-${++n}` } } });
      return (d.json as J).domain.id as string;
    }

    it('PUT creates (201) then replaces (200); GET at every level; 404 without config', async () => {
      const d = await domain();
      expect((await h.request('GET', `/identity/v3/domains/${d}/config`)).status).to.equal(404);
      const put = await h.request('PUT', `/identity/v3/domains/${d}/config`, { body: { config: custom } });
      expect(put.status, put.text).to.equal(201);
      expect((put.json as J).config).to.deep.equal(custom);
      const again = await h.request('PUT', `/identity/v3/domains/${d}/config`, { body: { config: custom } });
      expect(again.status, again.text).to.equal(200);
      expect(((await h.request('GET', `/identity/v3/domains/${d}/config`)).json as J).config).to.deep.equal(custom);
      expect(((await h.request('GET', `/identity/v3/domains/${d}/config/ldap`)).json as J).config).to.deep.equal({ ldap: custom.ldap });
      expect(((await h.request('GET', `/identity/v3/domains/${d}/config/ldap/url`)).json as J).config).to.deep.equal({ url: custom.ldap.url });
      expect((await h.request('GET', `/identity/v3/domains/${d}/config/ldap/suffix`)).status).to.equal(404);
    });

    it('PATCH merges and answers the whole config; DELETE option, group, all', async () => {
      const d = await domain();
      await h.request('PUT', `/identity/v3/domains/${d}/config`, { body: { config: custom } });
      const g = await h.request('PATCH', `/identity/v3/domains/${d}/config/identity`, { body: { config: { identity: { driver: 'drv2', list_limit: 7 } } } });
      expect(g.status, g.text).to.equal(200);
      expect((g.json as J).config).to.deep.equal({ ...custom, identity: { driver: 'drv2', list_limit: 7 } });
      const o = await h.request('PATCH', `/identity/v3/domains/${d}/config/identity/driver`, { body: { config: { driver: 'drv3' } } });
      expect(o.status, o.text).to.equal(200);
      expect((o.json as J).config.identity).to.deep.equal({ driver: 'drv3', list_limit: 7 });
      // At group or option level only what exists can be updated.
      expect((await h.request('PATCH', `/identity/v3/domains/${d}/config/ldap/suffix`, { body: { config: { suffix: 'x' } } })).status).to.equal(404);
      expect((await h.request('PATCH', `/identity/v3/domains/${d}/config/identity`, { body: { config: { ldap: { url: 'x' } } } })).status).to.equal(403);
      const whole = await h.request('PATCH', `/identity/v3/domains/${d}/config`, { body: { config: { ldap: { suffix: 'dc=x', password: 's3cret' } } } });
      expect((whole.json as J).config.ldap).to.deep.equal({ ...custom.ldap, suffix: 'dc=x' });

      expect((await h.request('DELETE', `/identity/v3/domains/${d}/config/identity/driver`)).status).to.equal(204);
      expect((await h.request('GET', `/identity/v3/domains/${d}/config/identity/driver`)).status).to.equal(404);
      expect((await h.request('DELETE', `/identity/v3/domains/${d}/config/identity`)).status).to.equal(204);
      expect((await h.request('GET', `/identity/v3/domains/${d}/config/identity`)).status).to.equal(404);
      expect((await h.request('DELETE', `/identity/v3/domains/${d}/config/identity`)).status).to.equal(404);
      expect((await h.request('DELETE', `/identity/v3/domains/${d}/config`)).status).to.equal(204);
      expect((await h.request('GET', `/identity/v3/domains/${d}/config`)).status).to.equal(404);
    });

    it('unsupported groups and options are 403 (InvalidDomainConfig); the sensitive password is never shown', async () => {
      const d = await domain();
      expect((await h.request('PUT', `/identity/v3/domains/${d}/config`, { body: { config: { assignment: { driver: 'x' } } } })).status).to.equal(403);
      expect((await h.request('PUT', `/identity/v3/domains/${d}/config`, { body: { config: { ldap: { nonsense: 'x' } } } })).status).to.equal(403);
      expect((await h.request('PUT', `/identity/v3/domains/${d}/config`, { body: { config: {} } })).status).to.equal(403);
      const put = await h.request('PUT', `/identity/v3/domains/${d}/config`, { body: { config: { ldap: { url: 'ldap://x', password: 'p' } } } });
      expect((put.json as J).config).to.deep.equal({ ldap: { url: 'ldap://x' } });
      expect((await h.request('GET', `/identity/v3/domains/${d}/config/ldap/password`)).status).to.equal(404);
      expect((await h.request('GET', `/identity/v3/domains/${d}/config/assignment`)).status).to.equal(403);
      expect((await h.request('GET', '/identity/v3/domains/nope/config')).status).to.equal(404);
    });

    it('defaults: all groups, one group, one option', async () => {
      const all = await h.request('GET', '/identity/v3/domains/config/default');
      expect(all.status, all.text).to.equal(200);
      expect((all.json as J).config).to.have.keys('identity', 'ldap');
      expect((all.json as J).config.identity).to.deep.equal({ driver: 'sql', list_limit: null });
      const ldap = await h.request('GET', '/identity/v3/domains/config/ldap/default');
      expect((ldap.json as J).config.ldap).to.include({ url: 'ldap://localhost', suffix: 'cn=example,cn=com' });
      for (const opt of Object.keys((ldap.json as J).config.ldap)) {
        const one = await h.request('GET', `/identity/v3/domains/config/ldap/${opt}/default`);
        expect(one.status, opt).to.equal(200);
        expect((one.json as J).config).to.have.keys(opt);
      }
      expect((await h.request('GET', '/identity/v3/domains/config/ldap/password/default')).status).to.equal(403);
      expect((await h.request('GET', '/identity/v3/domains/config/resource/default')).status).to.equal(403);
    });
  });

  describe('OS-TRUST', () => {
    async function trustSetup() {
      const trustor = await newUser();
      const trustee = await newUser();
      const r = await h.request('POST', '/identity/v3/roles', { body: { role: { name: `delegated-${++n}` } } });
      const delegated = (r.json as J).role;
      await h.request('PUT', `/identity/v3/projects/${trustor.projectId}/users/${trustor.id}/roles/${delegated.id}`);
      const token = await h.login(trustor.name, trustor.password, trustor.projectName);
      return { trustor: { ...trustor, token }, trustee, delegated };
    }

    it('the trustor creates, shows, lists and deletes a trust; its roles show; bad expiry is 400', async () => {
      const { trustor, trustee, delegated } = await trustSetup();
      const expires = new Date(Date.now() + 3600_000);
      expires.setUTCMilliseconds(0);
      const expiresStr = expires.toISOString().replace('.000Z', 'Z');
      const body = { trust: { trustor_user_id: trustor.id, trustee_user_id: trustee.id, project_id: trustor.projectId, roles: [{ name: delegated.name }], impersonation: true, expires_at: expiresStr } };
      const c = await h.request('POST', '/identity/v3/OS-TRUST/trusts', { token: trustor.token, body });
      expect(c.status, c.text).to.equal(201);
      const t = (c.json as J).trust;
      expect(t).to.include({ trustor_user_id: trustor.id, trustee_user_id: trustee.id, project_id: trustor.projectId, impersonation: true, remaining_uses: null });
      expect(t.expires_at.replace(/\.\d{6}/, '')).to.equal(expiresStr);
      expect(t.roles.map((r: J) => r.name)).to.deep.equal([delegated.name]);
      expect(t.links.self).to.equal(`${h.url}/identity/v3/OS-TRUST/trusts/${t.id}`);

      const show = await h.request('GET', `/identity/v3/OS-TRUST/trusts/${t.id}`, { token: trustor.token });
      expect(show.status, show.text).to.equal(200);
      expect((show.json as J).trust).to.deep.equal(t);
      const roles = await h.request('GET', `/identity/v3/OS-TRUST/trusts/${t.id}/roles`, { token: trustor.token });
      expect((roles.json as J).roles.map((r: J) => r.id)).to.deep.equal([delegated.id]);
      expect((await h.request('GET', `/identity/v3/OS-TRUST/trusts/${t.id}/roles/${delegated.id}`, { token: trustor.token })).status).to.equal(200);
      expect((await h.request('HEAD', `/identity/v3/OS-TRUST/trusts/${t.id}/roles/${delegated.id}`, { token: trustor.token })).status).to.equal(200);
      expect((await h.request('GET', `/identity/v3/OS-TRUST/trusts/${t.id}/roles/${memberRoleId}`, { token: trustor.token })).status).to.equal(404);

      const mine = await h.request('GET', `/identity/v3/OS-TRUST/trusts?trustor_user_id=${trustor.id}`, { token: trustor.token });
      expect((mine.json as J).trusts.map((x: J) => x.id)).to.deep.equal([t.id]);
      expect((mine.json as J).trusts[0]).to.not.have.property('roles');
      expect((await h.request('GET', '/identity/v3/OS-TRUST/trusts', { token: trustor.token })).status).to.equal(403);
      expect(((await h.request('GET', '/identity/v3/OS-TRUST/trusts')).json as J).trusts.map((x: J) => x.id)).to.include(t.id);

      const bad = await h.request('POST', '/identity/v3/OS-TRUST/trusts', { token: trustor.token, body: { trust: { ...body.trust, expires_at: 'bad.123Z' } } });
      expect(bad.status, bad.text).to.equal(400);
      const notMine = await h.request('POST', '/identity/v3/OS-TRUST/trusts', { token: trustee.token, body });
      expect(notMine.status).to.equal(403);
      const notHeld = await h.request('POST', '/identity/v3/OS-TRUST/trusts', { token: trustor.token, body: { trust: { ...body.trust, roles: [{ name: 'admin' }] } } });
      expect(notHeld.status).to.equal(404);

      expect((await h.request('DELETE', `/identity/v3/OS-TRUST/trusts/${t.id}`, { token: trustor.token })).status).to.equal(204);
      expect((await h.request('GET', `/identity/v3/OS-TRUST/trusts/${t.id}`, { token: trustor.token })).status).to.equal(404);
    });

    it('trust-scoped tokens: impersonation on and off, remaining_uses, no rescoping, deletion ends them', async () => {
      const { trustor, trustee, delegated } = await trustSetup();
      const create = async (impersonation: boolean, remaining_uses: number | null = null) => ((await h.request('POST', '/identity/v3/OS-TRUST/trusts', {
        token: trustor.token,
        body: { trust: { trustor_user_id: trustor.id, trustee_user_id: trustee.id, project_id: trustor.projectId, roles: [{ id: delegated.id }], impersonation, remaining_uses } },
      })).json as J).trust;
      const auth = (trustId: string, who = trustee) => h.request('POST', '/identity/v3/auth/tokens', {
        token: null, body: { auth: { identity: { methods: ['password'], password: { user: { id: who.id, password: who.password } } }, scope: { 'OS-TRUST:trust': { id: trustId } } } },
      });

      const imp = await create(true);
      const t1 = await auth(imp.id);
      expect(t1.status, t1.text).to.equal(201);
      const tok1 = (t1.json as J).token;
      expect(tok1.user.id).to.equal(trustor.id);
      expect(tok1.project.id).to.equal(trustor.projectId);
      expect(tok1.roles.map((r: J) => r.id)).to.deep.equal([delegated.id]);
      expect(tok1['OS-TRUST:trust']).to.deep.equal({ id: imp.id, impersonation: true, trustor_user: { id: trustor.id }, trustee_user: { id: trustee.id } });
      const subject = t1.headers.get('x-subject-token')!;
      const v = await h.request('GET', '/identity/v3/auth/tokens', { headers: { 'x-subject-token': subject } });
      expect(v.status, v.text).to.equal(200);
      expect((v.json as J).token['OS-TRUST:trust'].id).to.equal(imp.id);
      const rescope = await h.request('POST', '/identity/v3/auth/tokens', { token: null, body: { auth: { identity: { methods: ['token'], token: { id: subject } } } } });
      expect(rescope.status).to.equal(403);
      expect((await auth(imp.id, trustor)).status).to.equal(403);

      const noimp = await create(false, 1);
      const t2 = await auth(noimp.id);
      expect(t2.status, t2.text).to.equal(201);
      expect((t2.json as J).token.user.id).to.equal(trustee.id);
      expect((t2.json as J).token.roles.map((r: J) => r.id)).to.deep.equal([delegated.id]);
      // Its only use is spent: the trust is gone, the token it gave lives on.
      expect((await auth(noimp.id)).status).to.equal(404);
      expect((await h.request('GET', `/identity/v3/OS-TRUST/trusts/${noimp.id}`, { token: trustor.token })).status).to.equal(404);
      expect((await h.request('GET', '/identity/v3/auth/tokens', { headers: { 'x-subject-token': t2.headers.get('x-subject-token')! } })).status).to.equal(200);

      await h.request('DELETE', `/identity/v3/OS-TRUST/trusts/${imp.id}`, { token: trustor.token });
      expect((await h.request('GET', '/identity/v3/auth/tokens', { headers: { 'x-subject-token': subject } })).status).to.equal(404);
    });
  });

  describe('access rules', () => {
    it('identical rules are shared between application credentials and outlive them; deletable only when unused', async () => {
      const u = await newUser();
      const rule = { path: '/v2.1/servers/*/ips', method: 'GET', service: 'compute' };
      const mk = async (name: string) => ((await h.request('POST', `/identity/v3/users/${u.id}/application_credentials`, {
        token: u.token, body: { application_credential: { name, access_rules: [rule] } },
      })).json as J).application_credential;
      const a = await mk('ac1');
      const b = await mk('ac2');
      expect(a.access_rules).to.have.length(1);
      expect(b.access_rules[0].id).to.equal(a.access_rules[0].id);
      const ruleId = a.access_rules[0].id as string;
      const list = async () => ((await h.request('GET', `/identity/v3/users/${u.id}/access_rules`, { token: u.token })).json as J).access_rules;
      expect(await list()).to.deep.equal([{ id: ruleId, ...rule, links: { self: `${h.url}/identity/v3/users/${u.id}/access_rules/${ruleId}` } }]);
      const show = await h.request('GET', `/identity/v3/users/${u.id}/access_rules/${ruleId}`, { token: u.token });
      expect(show.status, show.text).to.equal(200);

      expect((await h.request('DELETE', `/identity/v3/users/${u.id}/access_rules/${ruleId}`, { token: u.token })).status).to.equal(403);
      await h.request('DELETE', `/identity/v3/users/${u.id}/application_credentials/${a.id}`, { token: u.token });
      await h.request('DELETE', `/identity/v3/users/${u.id}/application_credentials/${b.id}`, { token: u.token });
      expect(await list()).to.have.length(1);
      expect((await h.request('DELETE', `/identity/v3/users/${u.id}/access_rules/${ruleId}`, { token: u.token })).status).to.equal(204);
      expect(await list()).to.have.length(0);
      expect((await h.request('DELETE', `/identity/v3/users/${u.id}/access_rules/${ruleId}`, { token: u.token })).status).to.equal(404);
    });
  });

  describe('projects, endpoints, users, assignments', () => {
    it('a project created with is_domain acts as a domain, and is disabled then deleted like one', async () => {
      const c = await h.request('POST', '/identity/v3/projects', { body: { project: { name: 'acting-domain', domain_id: null, is_domain: true, description: 'd' } } });
      expect(c.status, c.text).to.equal(201);
      const p = (c.json as J).project;
      expect(p).to.include({ is_domain: true, domain_id: null, parent_id: null, name: 'acting-domain' });
      const asProjects = await h.request('GET', '/identity/v3/projects?is_domain=true');
      expect((asProjects.json as J).projects.map((x: J) => x.id)).to.include.members([p.id, 'default']);
      expect(((await h.request('GET', '/identity/v3/projects')).json as J).projects.map((x: J) => x.id)).to.not.include(p.id);
      expect(((await h.request('GET', '/identity/v3/domains')).json as J).domains.map((x: J) => x.id)).to.include(p.id);
      expect(((await h.request('GET', `/identity/v3/projects/${p.id}`)).json as J).project.is_domain).to.equal(true);
      expect((await h.request('DELETE', `/identity/v3/projects/${p.id}`)).status).to.equal(403);
      const off = await h.request('PATCH', `/identity/v3/projects/${p.id}`, { body: { project: { enabled: false } } });
      expect(off.status, off.text).to.equal(200);
      expect(((await h.request('GET', `/identity/v3/domains/${p.id}`)).json as J).domain.enabled).to.equal(false);
      expect((await h.request('DELETE', `/identity/v3/projects/${p.id}`)).status).to.equal(204);
      expect((await h.request('GET', `/identity/v3/domains/${p.id}`)).status).to.equal(404);
    });

    it('listing projects needs admin (or a domain-scoped token)', async () => {
      const u = await newUser();
      expect((await h.request('GET', '/identity/v3/projects', { token: u.token })).status).to.equal(403);
      expect((await h.request('GET', `/identity/v3/users/${u.id}/projects`, { token: u.token })).status).to.equal(200);
    });

    it('an endpoint naming an unknown region with `region` creates the region; with `region_id` it is a 400', async () => {
      const svc = await createService();
      const e = await h.request('POST', '/identity/v3/endpoints', { body: { endpoint: { service_id: svc, interface: 'public', url: 'http://r.example', region: 'legacy-region-1' } } });
      expect(e.status, e.text).to.equal(201);
      expect((e.json as J).endpoint).to.include({ region_id: 'legacy-region-1', region: 'legacy-region-1' });
      expect((await h.request('GET', '/identity/v3/regions/legacy-region-1')).status).to.equal(200);
      const id = (e.json as J).endpoint.id as string;
      const up = await h.request('PATCH', `/identity/v3/endpoints/${id}`, { body: { endpoint: { region: 'legacy-region-2' } } });
      expect(up.status, up.text).to.equal(200);
      expect((up.json as J).endpoint.region_id).to.equal('legacy-region-2');
      expect((await h.request('PATCH', `/identity/v3/endpoints/${id}`, { body: { endpoint: { enabled: 'False' } } })).status).to.equal(400);
      const bad = await h.request('POST', '/identity/v3/endpoints', { body: { endpoint: { service_id: svc, interface: 'public', url: 'http://r.example', region_id: 'no-such-region' } } });
      expect(bad.status).to.equal(400);
      const badEnabled = await h.request('POST', '/identity/v3/endpoints', { body: { endpoint: { service_id: svc, interface: 'public', url: 'http://r.example', region: 'legacy-region-3', enabled: 'True' } } });
      expect(badEnabled.status).to.equal(400);
      expect((await h.request('GET', '/identity/v3/regions/legacy-region-3')).status).to.equal(404);
    });

    it('anyone knowing the original password changes it (Keystone enforces no policy there)', async () => {
      const u = await newUser();
      // Logged in twice first: the second is a hit of the verified-password cache, which the change must not outlive.
      for (let i = 0; i < 2; i++) expect(await h.login(u.name, u.password)).to.be.a('string');
      const wrong = await h.request('POST', `/identity/v3/users/${u.id}/password`, { body: { user: { password: 'new-one', original_password: 'nope' } } });
      expect(wrong.status).to.equal(401);
      const ok = await h.request('POST', `/identity/v3/users/${u.id}/password`, { body: { user: { password: 'new-one', original_password: u.password } } });
      expect(ok.status, ok.text).to.equal(204);
      expect(await h.login(u.name, 'new-one')).to.be.a('string');
      await expectLoginRefused(u.name, u.password);
    });

    it('domain-specific roles are not effective assignments (nor in tokens); the roles they imply are', async () => {
      const u = await newUser();
      const dr = ((await h.request('POST', '/identity/v3/roles', { body: { role: { name: 'domain-role', domain_id: 'default' } } })).json as J).role;
      await h.request('PUT', `/identity/v3/projects/${u.projectId}/users/${u.id}/roles/${dr.id}`);
      const q = `/identity/v3/role_assignments?effective&scope.project.id=${u.projectId}&user.id=${u.id}`;
      let list = (await h.request('GET', q)).json as J;
      expect(list.role_assignments.map((a: J) => a.role.id)).to.deep.equal([memberRoleId, ((await h.request('GET', '/identity/v3/roles?name=reader')).json as J).roles[0].id]);
      const global = ((await h.request('POST', '/identity/v3/roles', { body: { role: { name: `implied-${++n}` } } })).json as J).role;
      await h.request('PUT', `/identity/v3/roles/${dr.id}/implies/${global.id}`);
      list = (await h.request('GET', q)).json as J;
      expect(list.role_assignments.map((a: J) => a.role.id)).to.include(global.id).and.not.include(dr.id);
      const direct = (await h.request('GET', `/identity/v3/role_assignments?scope.project.id=${u.projectId}&user.id=${u.id}`)).json as J;
      expect(direct.role_assignments.map((a: J) => a.role.id)).to.include(dr.id);
      const tok = await h.request('POST', '/identity/v3/auth/tokens', {
        token: null, body: { auth: { identity: { methods: ['password'], password: { user: { id: u.id, password: u.password } } }, scope: { project: { id: u.projectId } } } },
      });
      expect((tok.json as J).token.roles.map((r: J) => r.id)).to.include(global.id).and.not.include(dr.id);
    });

    it('HEAD on an implied role answers 204', async () => {
      const a = ((await h.request('POST', '/identity/v3/roles', { body: { role: { name: `prior-${++n}` } } })).json as J).role;
      const b = ((await h.request('POST', '/identity/v3/roles', { body: { role: { name: `implied-${++n}` } } })).json as J).role;
      expect((await h.request('PUT', `/identity/v3/roles/${a.id}/implies/${b.id}`)).status).to.equal(201);
      expect((await h.request('HEAD', `/identity/v3/roles/${a.id}/implies/${b.id}`)).status).to.equal(204);
      expect((await h.request('GET', `/identity/v3/roles/${a.id}/implies/${b.id}`)).status).to.equal(200);
    });
  });
});
