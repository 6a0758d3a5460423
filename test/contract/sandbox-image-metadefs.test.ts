/** The sandbox's Glance metadata definitions catalog, end to end, spec-checked responses. */
import { expect } from 'chai';
import { startGateway, type Harness } from '../helpers/gateway.js';

interface Namespace {
  namespace: string; display_name?: string; description?: string; visibility: string; protected: boolean; owner?: string;
  created_at: string; updated_at: string; self: string; schema: string;
  resource_type_associations?: { name: string; prefix?: string; properties_target?: string }[];
  objects?: { name: string }[]; properties?: Record<string, { title: string; type: string }>; tags?: { name: string }[];
}
interface NamespaceList { namespaces: Namespace[]; first: string; next?: string; schema: string }
interface SchemaDoc { name: string; properties: Record<string, Record<string, unknown>>; required?: string[]; links?: { rel: string }[] }

const NS = '/image/v2/metadefs/namespaces';

async function projectId(h: Harness, name: string): Promise<string> {
  const r = await h.request('GET', `/identity/v3/projects?name=${name}`);
  return (r.json as { projects: { id: string }[] }).projects[0]!.id;
}

/** A second project with a member (non-admin) user; returns its token and id. */
async function memberProject(h: Harness, name: string): Promise<{ token: string; id: string }> {
  const p = await h.request('POST', '/identity/v3/projects', { body: { project: { name, domain_id: 'default' } } });
  expect(p.status, p.text).to.equal(201);
  const id = (p.json as { project: { id: string } }).project.id;
  const u = await h.request('POST', '/identity/v3/users', { body: { user: { name: `${name}-user`, password: 'pw-secret-1', default_project_id: id, domain_id: 'default' } } });
  expect(u.status, u.text).to.equal(201);
  const userId = (u.json as { user: { id: string } }).user.id;
  const roles = await h.request('GET', '/identity/v3/roles?name=member');
  const roleId = (roles.json as { roles: { id: string }[] }).roles[0]!.id;
  const g = await h.request('PUT', `/identity/v3/projects/${id}/users/${userId}/roles/${roleId}`);
  expect(g.status, g.text).to.equal(204);
  return { token: await h.login(`${name}-user`, 'pw-secret-1', name), id };
}

describe('sandbox: image metadata definitions (Glance v2 metadefs)', function () {
  this.timeout(60_000);
  let h: Harness;
  before(async () => { h = await startGateway({ contract: true }); });
  after(() => h.close());

  async function createNs(body: Record<string, unknown>, token?: string): Promise<Namespace> {
    const r = await h.request('POST', NS, { body, ...(token ? { token } : {}) });
    expect(r.status, r.text).to.equal(201);
    return r.json as Namespace;
  }

  it('serves the ten schema documents, built from the spec: names, members, required', async () => {
    const get = async (p: string) => {
      const r = await h.request('GET', `/image/v2/schemas/metadefs/${p}`);
      expect(r.status, r.text).to.equal(200);
      return r.json as SchemaDoc;
    };
    const names: Record<string, string> = {
      namespace: 'namespace', namespaces: 'namespaces', object: 'object', objects: 'objects', property: 'property',
      properties: 'properties', tag: 'tag', tags: 'tags', resource_type: 'resource_type_association', resource_types: 'resource_type_associations',
    };
    for (const [path, name] of Object.entries(names)) expect((await get(path)).name, path).to.equal(name);

    const ns = await get('namespace');
    expect(ns.required).to.deep.equal(['namespace']);
    expect(ns.properties.visibility!.enum).to.have.members(['public', 'private']);
    expect(ns.properties.namespace).to.include({ type: 'string', maxLength: 80 });
    expect(ns.properties).to.include.keys('objects', 'properties', 'tags', 'resource_type_associations', 'self', 'schema');

    const list = await get('namespaces');
    expect(list.properties).to.include.keys('namespaces', 'first', 'next', 'schema');
    expect((list.properties.namespaces!.items as SchemaDoc).name).to.equal('namespace');
    expect(list.links!.map((l) => l.rel)).to.deep.equal(['first', 'next', 'describedby']);

    const property = await get('property');
    expect(property.required).to.have.members(['name', 'title', 'type']);
    const properties = await get('properties');
    expect((properties.properties.properties!.additionalProperties as SchemaDoc).name).to.equal('property');
    expect((await get('tag')).properties).to.have.keys('name', 'created_at', 'updated_at');
    expect((await get('resource_type')).properties).to.include.keys('name', 'prefix', 'properties_target');
  });

  it('lists the sandbox resource types; associating a new name adds it to the list', async () => {
    const list = async () => ((await h.request('GET', '/image/v2/metadefs/resource_types')).json as { resource_types: { name: string }[] }).resource_types.map((t) => t.name);
    const before = await list();
    expect(before).to.include.members(['OS::Glance::Image', 'OS::Cinder::Volume', 'OS::Nova::Server', 'OS::Nova::Flavor']);
    expect(before).to.not.include('OS::Sandbox::Widget');
    await createNs({ namespace: 'rt-ns' });
    const a = await h.request('POST', `${NS}/rt-ns/resource_types`, { body: { name: 'OS::Sandbox::Widget', prefix: 'widget_' } });
    expect(a.status, a.text).to.equal(201);
    expect(a.json).to.include({ name: 'OS::Sandbox::Widget', prefix: 'widget_' });
    expect(await list()).to.include('OS::Sandbox::Widget');
    const again = await h.request('POST', `${NS}/rt-ns/resource_types`, { body: { name: 'OS::Sandbox::Widget' } });
    expect(again.status).to.equal(409);

    const assoc = await h.request('GET', `${NS}/rt-ns/resource_types`);
    expect((assoc.json as { resource_type_associations: { name: string }[] }).resource_type_associations.map((x) => x.name)).to.deep.equal(['OS::Sandbox::Widget']);
    const shown = (await h.request('GET', `${NS}/rt-ns`)).json as Namespace;
    expect(shown.resource_type_associations!.map((x) => x.name)).to.deep.equal(['OS::Sandbox::Widget']);
    expect((await h.request('DELETE', `${NS}/rt-ns/resource_types/OS::Sandbox::Widget`)).status).to.equal(204);
    expect((await h.request('DELETE', `${NS}/rt-ns/resource_types/OS::Sandbox::Widget`)).status).to.equal(404);
    expect(((await h.request('GET', `${NS}/rt-ns/resource_types`)).json as { resource_type_associations: unknown[] }).resource_type_associations).to.deep.equal([]);
  });

  it('namespace lifecycle: 201 with links, 409 duplicate, 403 read-only, protected refuses delete, update, 404 after delete', async () => {
    const ns = await createNs({ namespace: 'life', display_name: 'Life', description: 'd', visibility: 'public', protected: true,
      resource_type_associations: [{ name: 'OS::Glance::Image' }] });
    expect(ns).to.include({ namespace: 'life', display_name: 'Life', visibility: 'public', protected: true, self: '/v2/metadefs/namespaces/life', schema: '/v2/schemas/metadefs/namespace' });
    expect(ns.owner).to.equal(await projectId(h, 'admin'));
    expect(ns.created_at).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(ns.resource_type_associations!.map((a) => a.name)).to.deep.equal(['OS::Glance::Image']);

    expect((await h.request('POST', NS, { body: { namespace: 'life' } })).status).to.equal(409);
    const ro = await h.request('POST', NS, { body: { namespace: 'other', created_at: '2020-01-01T00:00:00Z' } });
    expect(ro.status).to.equal(403);
    expect(ro.text).to.contain("Attribute 'created_at' is read-only.");
    expect((await h.request('POST', NS, { body: { visibility: 'public' } })).status).to.equal(400);

    const del = await h.request('DELETE', `${NS}/life`);
    expect(del.status).to.equal(403);
    expect(del.text).to.contain('protected');
    const up = await h.request('PUT', `${NS}/life`, { body: { namespace: 'life', visibility: 'private', protected: false, display_name: 'Life' } });
    expect(up.status, up.text).to.equal(200);
    expect(up.json).to.include({ visibility: 'private', protected: false, display_name: 'Life' });
    expect(up.json).to.not.have.property('description'); // a PUT replaces: left out is gone, as in Glance
    expect((await h.request('DELETE', `${NS}/life`)).status).to.equal(204);
    expect((await h.request('GET', `${NS}/life`)).status).to.equal(404);
  });

  it('renames a namespace by PUT, 409 onto an existing name, content follows the rename', async () => {
    await createNs({ namespace: 'ren-a', objects: [{ name: 'o1' }] });
    await createNs({ namespace: 'ren-b' });
    expect((await h.request('PUT', `${NS}/ren-a`, { body: { namespace: 'ren-b' } })).status).to.equal(409);
    const r = await h.request('PUT', `${NS}/ren-a`, { body: { namespace: 'ren-c' } });
    expect(r.status, r.text).to.equal(200);
    expect((await h.request('GET', `${NS}/ren-a`)).status).to.equal(404);
    const objs = (await h.request('GET', `${NS}/ren-c/objects`)).json as { objects: { name: string; self: string }[] };
    expect(objs.objects.map((o) => [o.name, o.self])).to.deep.equal([['o1', '/v2/metadefs/namespaces/ren-c/objects/o1']]);
  });

  it('creates content with the namespace, all or nothing; deleting the namespace deletes its content', async () => {
    const bad = await h.request('POST', NS, { body: { namespace: 'atomic', objects: [{ name: 'x' }, { name: 'x' }] } });
    expect(bad.status).to.equal(409);
    expect((await h.request('GET', `${NS}/atomic`)).status).to.equal(404);

    const body = {
      namespace: 'full',
      objects: [{ name: 'cpu', description: 'CPU', required: ['cores'], properties: { cores: { title: 'Cores', type: 'integer', minimum: 1 } } }],
      properties: { hypervisor: { title: 'Hypervisor', type: 'string', enum: ['kvm', 'qemu'] } },
      tags: [{ name: 't1' }, { name: 't2' }],
      resource_type_associations: [{ name: 'OS::Nova::Flavor', prefix: 'hw:' }],
    };
    await createNs(body);
    const shown = (await h.request('GET', `${NS}/full`)).json as Namespace;
    expect(shown.objects!.map((o) => o.name)).to.deep.equal(['cpu']);
    expect(shown.properties!.hypervisor).to.include({ title: 'Hypervisor', type: 'string' });
    expect(shown.tags!.map((t) => t.name)).to.deep.equal(['t1', 't2']);
    expect(shown.resource_type_associations![0]).to.include({ name: 'OS::Nova::Flavor', prefix: 'hw:' });

    expect((await h.request('DELETE', `${NS}/full`)).status).to.equal(204);
    await createNs({ namespace: 'full' });
    expect(((await h.request('GET', `${NS}/full/objects`)).json as { objects: unknown[] }).objects).to.deep.equal([]);
    expect(((await h.request('GET', `${NS}/full/properties`)).json as { properties: object }).properties).to.deep.equal({});
    expect(((await h.request('GET', `${NS}/full/tags`)).json as { tags: unknown[] }).tags).to.deep.equal([]);
    expect(((await h.request('GET', `${NS}/full/resource_types`)).json as { resource_type_associations: unknown[] }).resource_type_associations).to.deep.equal([]);
  });

  it('objects: create 201, duplicate 409, show, rename by PUT, 409 onto a sibling, delete, 404; delete all', async () => {
    await createNs({ namespace: 'objs' });
    const c = await h.request('POST', `${NS}/objs/objects`, { body: { name: 'a', description: 'first', properties: { p: { title: 'P', type: 'string' } } } });
    expect(c.status, c.text).to.equal(201);
    expect(c.json).to.include({ name: 'a', description: 'first', self: '/v2/metadefs/namespaces/objs/objects/a', schema: '/v2/schemas/metadefs/object' });
    expect((await h.request('POST', `${NS}/objs/objects`, { body: { name: 'a' } })).status).to.equal(409);
    expect((await h.request('POST', `${NS}/objs/objects`, { body: { name: 'b' } })).status).to.equal(201);
    expect((await h.request('POST', `${NS}/nope/objects`, { body: { name: 'b' } })).status).to.equal(404);

    expect((await h.request('PUT', `${NS}/objs/objects/a`, { body: { name: 'b' } })).status).to.equal(409);
    const up = await h.request('PUT', `${NS}/objs/objects/a`, { body: { name: 'a2', description: 'renamed' } });
    expect(up.status, up.text).to.equal(200);
    expect(up.json).to.include({ name: 'a2', description: 'renamed' });
    expect((await h.request('GET', `${NS}/objs/objects/a`)).status).to.equal(404);
    expect((await h.request('GET', `${NS}/objs/objects/a2`)).json).to.include({ name: 'a2' });
    expect((await h.request('DELETE', `${NS}/objs/objects/a2`)).status).to.equal(204);
    expect((await h.request('DELETE', `${NS}/objs/objects/a2`)).status).to.equal(404);
    expect(((await h.request('GET', `${NS}/objs/objects`)).json as { objects: { name: string }[] }).objects.map((o) => o.name)).to.deep.equal(['b']);
    expect((await h.request('DELETE', `${NS}/objs/objects`)).status).to.equal(204);
    expect(((await h.request('GET', `${NS}/objs/objects`)).json as { objects: unknown[] }).objects).to.deep.equal([]);
  });

  it('properties: create, duplicate 409, list as a map, update, delete', async () => {
    await createNs({ namespace: 'props' });
    const enumValues = ['kvm', 'qemu'];
    const c = await h.request('POST', `${NS}/props/properties`, { body: { name: 'hv', title: 'Hypervisor', type: 'string', enum: enumValues } });
    expect(c.status, c.text).to.equal(201);
    expect(c.json).to.deep.include({ name: 'hv', title: 'Hypervisor', type: 'string', enum: enumValues });
    expect((await h.request('POST', `${NS}/props/properties`, { body: { name: 'hv', title: 'Again', type: 'string' } })).status).to.equal(409);
    expect((await h.request('POST', `${NS}/props/properties`, { body: { name: 'x', type: 'string' } })).status).to.equal(400);
    const list = (await h.request('GET', `${NS}/props/properties`)).json as { properties: Record<string, { title: string }> };
    expect(Object.keys(list.properties)).to.deep.equal(['hv']);
    const up = await h.request('PUT', `${NS}/props/properties/hv`, { body: { name: 'hv', title: 'HV', type: 'string' } });
    expect(up.status, up.text).to.equal(200);
    expect(up.json).to.deep.equal({ name: 'hv', title: 'HV', type: 'string' });
    expect((await h.request('DELETE', `${NS}/props/properties/hv`)).status).to.equal(204);
    expect((await h.request('GET', `${NS}/props/properties/hv`)).status).to.equal(404);
  });

  it('tags: bulk create replaces, X-Openstack-Append adds, duplicates 409 with nothing changed; one by name; rename; delete all', async () => {
    await createNs({ namespace: 'tags' });
    const names = async () => ((await h.request('GET', `${NS}/tags/tags`)).json as { tags: { name: string }[] }).tags.map((t) => t.name);
    const bulk = await h.request('POST', `${NS}/tags/tags`, { body: { tags: [{ name: 'a' }, { name: 'b' }] } });
    expect(bulk.status, bulk.text).to.equal(201);
    expect((bulk.json as { tags: { name: string }[] }).tags.map((t) => t.name)).to.deep.equal(['a', 'b']);
    expect((await h.request('POST', `${NS}/tags/tags`, { body: { tags: [{ name: 'c' }] } })).status).to.equal(201);
    expect(await names()).to.deep.equal(['c']);
    expect((await h.request('POST', `${NS}/tags/tags`, { body: { tags: [{ name: 'd' }] }, headers: { 'x-openstack-append': 'True' } })).status).to.equal(201);
    expect(await names()).to.deep.equal(['c', 'd']);
    expect((await h.request('POST', `${NS}/tags/tags`, { body: { tags: [{ name: 'e' }, { name: 'c' }] }, headers: { 'x-openstack-append': 'true' } })).status).to.equal(409);
    expect((await h.request('POST', `${NS}/tags/tags`, { body: { tags: [{ name: 'f' }, { name: 'f' }] } })).status).to.equal(409);
    expect(await names()).to.deep.equal(['c', 'd']);

    // Tempest's create_namespace_tag: a POST with a JSON content type and no body.
    const one = await h.request('POST', `${NS}/tags/tags/single`, { headers: { 'content-type': 'application/json' } });
    expect(one.status, one.text).to.equal(201);
    expect(one.json).to.include({ name: 'single' });
    expect((await h.request('POST', `${NS}/tags/tags/single`)).status).to.equal(409);
    const ren = await h.request('PUT', `${NS}/tags/tags/single`, { body: { name: 'renamed' } });
    expect(ren.status, ren.text).to.equal(200);
    expect((await h.request('PUT', `${NS}/tags/tags/renamed`, { body: { name: 'c' } })).status).to.equal(409);
    expect((await h.request('GET', `${NS}/tags/tags/renamed`)).json).to.include({ name: 'renamed' });
    expect((await h.request('DELETE', `${NS}/tags/tags/renamed`)).status).to.equal(204);
    expect((await h.request('DELETE', `${NS}/tags/tags/renamed`)).status).to.equal(404);
    expect((await h.request('DELETE', `${NS}/tags/tags`)).status).to.equal(204);
    expect(await names()).to.deep.equal([]);
  });

  it('a protected namespace keeps its content: deleting an object, property, tag, association or all tags is 403', async () => {
    await createNs({ namespace: 'guarded', protected: true, objects: [{ name: 'o' }], tags: [{ name: 't' }],
      properties: { p: { title: 'P', type: 'string' } }, resource_type_associations: [{ name: 'OS::Glance::Image' }] });
    for (const path of ['objects/o', 'properties/p', 'tags/t', 'resource_types/OS::Glance::Image', 'tags', 'objects', 'properties']) {
      const r = await h.request('DELETE', `${NS}/guarded/${path}`);
      expect(r.status, path).to.equal(403);
    }
    const shown = (await h.request('GET', `${NS}/guarded`)).json as Namespace;
    expect(shown.objects).to.have.length(1);
    expect(shown.tags).to.have.length(1);
    expect(Object.keys(shown.properties!)).to.deep.equal(['p']);
  });

  it('isolation: a project member sees public namespaces and its own, not another project\'s private ones; writing is for admins', async () => {
    const b = await memberProject(h, 'metadef-b');
    await createNs({ namespace: 'adm-private' });
    await createNs({ namespace: 'adm-public', visibility: 'public', objects: [{ name: 'visible-object' }] });
    await createNs({ namespace: 'b-private', owner: b.id });

    const list = (await h.request('GET', NS, { token: b.token })).json as NamespaceList;
    const seen = list.namespaces.map((n) => n.namespace);
    expect(seen).to.include.members(['adm-public', 'b-private']);
    expect(seen).to.not.include('adm-private');
    expect((await h.request('GET', `${NS}/adm-private`, { token: b.token })).status).to.equal(404);
    expect((await h.request('GET', `${NS}/adm-private/objects`, { token: b.token })).status).to.equal(404);
    expect((await h.request('GET', `${NS}/b-private`, { token: b.token })).json).to.include({ owner: b.id });
    const objs = (await h.request('GET', `${NS}/adm-public/objects`, { token: b.token })).json as { objects: { name: string }[] };
    expect(objs.objects.map((o) => o.name)).to.deep.equal(['visible-object']);

    expect((await h.request('POST', NS, { body: { namespace: 'by-member' }, token: b.token })).status).to.equal(403);
    expect((await h.request('DELETE', `${NS}/adm-public`, { token: b.token })).status).to.equal(403);
    expect((await h.request('POST', `${NS}/b-private/objects`, { body: { name: 'x' }, token: b.token })).status).to.equal(403);
    // The gateway's policy refuses a member's namespace delete before the driver looks (403, not Glance's 404).
    expect((await h.request('DELETE', `${NS}/adm-private`, { token: b.token })).status).to.equal(403);
    expect((await h.request('DELETE', `${NS}/adm-private/objects`, { token: b.token })).status).to.equal(404);
    expect((await h.request('GET', `${NS}/adm-public`)).status).to.equal(200);
  });

  it('lists namespaces with limit/marker paging, sort, and visibility and resource_types filters', async () => {
    for (const n of ['page-1', 'page-2', 'page-3']) await createNs({ namespace: n, visibility: 'public', resource_type_associations: [{ name: 'OS::Paging::Thing' }] });
    const first = (await h.request('GET', `${NS}?resource_types=OS::Paging::Thing&sort_key=namespace&sort_dir=asc&limit=2`)).json as NamespaceList;
    expect(first.namespaces.map((n) => n.namespace)).to.deep.equal(['page-1', 'page-2']);
    expect(first.next).to.be.a('string').and.contain('marker=page-2');
    const second = (await h.request('GET', `/image${first.next!}`)).json as NamespaceList;
    expect(second.namespaces.map((n) => n.namespace)).to.deep.equal(['page-3']);
    expect(second.next).to.equal(undefined);
    expect(second.namespaces[0]!.resource_type_associations!.map((a) => a.name)).to.deep.equal(['OS::Paging::Thing']);

    const priv = (await h.request('GET', `${NS}?visibility=private`)).json as NamespaceList;
    expect(priv.namespaces.every((n) => n.visibility === 'private')).to.equal(true);
    expect((await h.request('GET', `${NS}?visibility=shared`)).status).to.equal(400);
    expect((await h.request('GET', `${NS}?marker=no-such-namespace`)).status).to.equal(404);
  });
});
