/**
 * Calls Horizon makes that the sandbox answered wrongly, each as Horizon sends
 * it, against the contract-checking gateway: usage paged by marker (2.40+),
 * repeated Nova and Neutron query parameters, Cinder's generic volume group
 * lists, and Neutron's quota show/default without project ids.
 */
import { expect } from 'chai';
import { startGateway, type Harness, type TestResponse } from '../helpers/gateway.js';

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies, shapes asserted by the tests

describe('sandbox: what Horizon calls', function () {
  this.timeout(60_000);
  let h: Harness;
  let imageId: string | null = null;
  let project: string;

  const nova = (v: string) => ({ 'openstack-api-version': `compute ${v}` });
  async function ok(method: string, path: string, init: Parameters<Harness['request']>[2] = {}, status = 200): Promise<J> {
    const r = await h.request(method, path, init);
    expect(r.status, `${method} ${path}: ${r.text} ${r.headers.get('x-stackgate-contract-violation') ?? ''}`).to.equal(status);
    return (r.json ?? {}) as J;
  }
  const message = (r: TestResponse) => String(Object.values(r.json as J)[0]?.message ?? '');

  /** An active public image made through Glance (null when Glance is not wired). */
  async function makeImage(): Promise<string | null> {
    const r = await h.request('POST', '/image/v2/images', { body: { name: 'horizon-img', disk_format: 'qcow2', container_format: 'bare', visibility: 'public' } });
    if (r.status !== 201) return null;
    const id = (r.json as J).id as string;
    const up = await h.request('PUT', `/image/v2/images/${id}/file`, { raw: 'x'.repeat(512), headers: { 'content-type': 'application/octet-stream' } });
    return up.status === 204 ? id : null;
  }

  /** `count` servers named `${name}-1…n` in one create. */
  async function servers(name: string, count: number): Promise<void> {
    await ok('POST', '/compute/v2.1/servers', {
      headers: nova('2.37'), body: { server: { name, flavorRef: '1', imageRef: imageId, networks: 'none', min_count: count, max_count: count } },
    }, 202);
  }

  before(async () => {
    h = await startGateway({ contract: true, sandbox: { buildDelayMs: 0 } });
    imageId = await makeImage();
    project = h.gateway.identity.projectByName('default', 'admin')!.id;
    await ok('PUT', `/compute/v2.1/os-quota-sets/${project}`, { body: { quota_set: { instances: -1, cores: -1, ram: -1 } } });
  });
  after(() => h.close());

  function needsImage(ctx: Mocha.Context) {
    if (!imageId) ctx.skip();
  }

  it('os-simple-tenant-usage pages by limit and marker from 2.40, as Horizon loops until server_usages is empty', async function () {
    needsImage(this);
    await servers('use', 5);
    const window = 'start=2000-01-01T00%3A00%3A00&end=2100-01-01T00%3A00%3A00'; // as the next links encode it
    const mine = (await ok('GET', '/compute/v2.1/servers?all_tenants=1')).servers.map((s: J) => s.id as string).sort();

    // Horizon's usage_get: repeat with marker=<last instance_id> until server_usages is empty.
    const seen: string[] = [];
    let url = `/compute/v2.1/os-simple-tenant-usage/${project}?${window}&limit=2`;
    for (let pages = 0; ; pages++) {
      expect(pages, 'usage paging never ends').to.be.lessThan(10);
      const page = await ok('GET', url, { headers: nova('2.40') });
      const usages = (page.tenant_usage.server_usages ?? []) as J[];
      if (!usages.length) {
        expect(page.tenant_usage).to.deep.equal({});
        break;
      }
      expect(usages.length).to.be.at.most(2);
      expect(page.tenant_usage).to.include({ tenant_id: project });
      seen.push(...usages.map((u) => u.instance_id as string));
      const next = page.tenant_usage_links?.[0]?.href as string | undefined;
      if (next) expect(next).to.equal(`${h.url}${url.replace(/&marker=[^&]*/, '')}&marker=${seen[seen.length - 1]}`);
      url = `/compute/v2.1/os-simple-tenant-usage/${project}?${window}&limit=2&marker=${seen[seen.length - 1]}`;
    }
    // Ordered by project then uuid, every server once.
    expect(seen).to.deep.equal(mine);
    // The last full page links on only when more follow; a short one never does.
    const last = await ok('GET', `/compute/v2.1/os-simple-tenant-usage/${project}?${window}&limit=2&marker=${seen[2]}`, { headers: nova('2.40') });
    expect(last.tenant_usage.server_usages.map((u: J) => u.instance_id)).to.deep.equal(seen.slice(3));
    expect(last).to.not.have.property('tenant_usage_links');

    // The admin list (detailed=1) pages the same way, with tenant_usages_links.
    const first = await ok('GET', `/compute/v2.1/os-simple-tenant-usage?${window}&detailed=1&limit=3`, { headers: nova('2.40') });
    expect(first.tenant_usages).to.have.length(1);
    expect(first.tenant_usages[0].server_usages.map((u: J) => u.instance_id)).to.deep.equal(seen.slice(0, 3));
    expect(first.tenant_usages_links[0].href).to.contain(`marker=${seen[2]}`);
    const rest = await ok('GET', String(first.tenant_usages_links[0].href).slice(h.url.length), { headers: nova('2.40') });
    expect(rest.tenant_usages[0].server_usages.map((u: J) => u.instance_id)).to.deep.equal(seen.slice(3));
    expect(rest.tenant_usages[0].total_hours).to.be.a('number');
    const none = await ok('GET', `/compute/v2.1/os-simple-tenant-usage?${window}&detailed=1&marker=${seen[4]}`, { headers: nova('2.40') });
    expect(none).to.deep.equal({ tenant_usages: [] });

    // An unknown marker is a 400; before 2.40 limit and marker are not read.
    const bad = await h.request('GET', `/compute/v2.1/os-simple-tenant-usage?${window}&marker=00000000-0000-0000-0000-000000000000`, { headers: nova('2.40') });
    expect(bad.status, bad.text).to.equal(400);
    expect(message(bad)).to.contain('could not be found');
    const old = await ok('GET', `/compute/v2.1/os-simple-tenant-usage/${project}?${window}&limit=1&marker=${seen[0]}`, { headers: nova('2.39') });
    expect(old.tenant_usage.server_usages).to.have.length(5);
    expect(old).to.not.have.property('tenant_usage_links');
    // A project with no servers in the window shows {}.
    expect((await ok('GET', `/compute/v2.1/os-simple-tenant-usage/${project}?start=2000-01-01T00:00:00&end=2000-01-02T00:00:00`, { headers: nova('2.40') })).tenant_usage).to.deep.equal({});
  });

  it('servers/detail takes repeated sort_key/sort_dir (applied in order) and the last of other repeated parameters', async function () {
    needsImage(this);
    // created_at has whole seconds: b- is newer than earlier servers, a- newer than b-.
    await new Promise((r) => setTimeout(r, 1100));
    await servers('b', 2);
    await new Promise((r) => setTimeout(r, 1100));
    await servers('a', 2);
    const all = (await ok('GET', '/compute/v2.1/servers/detail?all_tenants=1')).servers as J[];
    const names = (list: J[]) => list.map((s) => s.name as string);

    // Horizon's instances page, verbatim.
    const q = `limit=21&project_id=${project}&sort_dir=desc&sort_dir=desc&sort_dir=desc&sort_key=created_at&sort_key=display_name&sort_key=uuid`;
    const horizon = (await ok('GET', `/compute/v2.1/servers/detail?${q}`, { headers: nova('2.90') })).servers as J[];
    expect(horizon).to.have.length(all.length);
    expect(names(horizon).slice(0, 4)).to.deep.equal(['a-2', 'a-1', 'b-2', 'b-1']);

    // Several keys in order: name asc, then created_at (directions missing for later keys take the first).
    const byName = (await ok('GET', '/compute/v2.1/servers?sort_key=display_name&sort_key=created_at&sort_dir=asc')).servers as J[];
    expect(names(byName)).to.deep.equal([...names(all)].sort((x, y) => x.localeCompare(y)));
    const mixed = (await ok('GET', '/compute/v2.1/servers?name=%5E[ab]-&sort_key=display_name&sort_dir=desc&sort_key=uuid&sort_dir=asc')).servers as J[];
    expect(names(mixed)).to.deep.equal(['b-2', 'b-1', 'a-2', 'a-1']);

    // Other parameters given twice: the last one counts (webob's MultiDict).
    expect(names((await ok('GET', '/compute/v2.1/servers?name=%5Eb-&name=%5Ea-&sort_key=display_name&sort_dir=asc')).servers)).to.deep.equal(['a-1', 'a-2']);
    const paged = await ok('GET', '/compute/v2.1/servers?limit=50&limit=1');
    expect(paged.servers).to.have.length(1);
    expect(paged.servers_links[0].href).to.contain('limit=1');

    // Nova's 400s: an unknown direction, more directions than keys, a key outside the list.
    for (const bad of ['sort_key=display_name&sort_dir=up', 'sort_key=display_name&sort_dir=asc&sort_dir=desc', 'sort_key=color']) {
      const r = await h.request('GET', `/compute/v2.1/servers?${bad}`);
      expect(r.status, `${bad}: ${r.text}`).to.equal(400);
    }
  });

  it('Neutron list filters given more than once match any of the values', async () => {
    const N = '/network/v2.0';
    const pub = (await ok('POST', `${N}/networks`, { body: { network: { name: 'pub', 'router:external': true } } }, 201)).network;
    await ok('POST', `${N}/subnets`, { body: { subnet: { network_id: pub.id, cidr: '203.0.113.0/28', ip_version: 4 } } }, 201);
    const net = (await ok('POST', `${N}/networks`, { body: { network: { name: 'priv' } } }, 201)).network;
    const sub = (await ok('POST', `${N}/subnets`, { body: { subnet: { network_id: net.id, cidr: '10.40.0.0/24', ip_version: 4 } } }, 201)).subnet;
    const router = (await ok('POST', `${N}/routers`, { body: { router: { name: 'r', external_gateway_info: { network_id: pub.id } } } }, 201)).router;
    await ok('PUT', `${N}/routers/${router.id}/add_router_interface`, { body: { subnet_id: sub.id } });
    const ports: J[] = [];
    for (const dev of ['vm-1', 'vm-2', 'vm-3']) {
      ports.push((await ok('POST', `${N}/ports`, { body: { port: { network_id: net.id, device_id: dev, device_owner: 'compute:nova' } } }, 201)).port);
    }
    const ids = (list: J[]) => list.map((x) => x.id as string).sort();

    const two = (await ok('GET', `${N}/ports?device_id=vm-1&device_id=vm-3`)).ports as J[];
    expect(ids(two)).to.deep.equal(ids([ports[0]!, ports[2]!]));
    expect((await ok('GET', `${N}/ports?device_id=vm-2`)).ports).to.have.length(1);
    // Repeats and fields together, and a filter with a format: each value is checked.
    const named = (await ok('GET', `${N}/ports?device_id=vm-1&device_id=vm-2&fields=id&fields=device_id`)).ports as J[];
    expect(named.map((p) => Object.keys(p).sort())).to.deep.equal([['device_id', 'id'], ['device_id', 'id']]);
    expect(ids((await ok('GET', `${N}/ports?id=${ports[0]!.id}&id=${ports[1]!.id}`)).ports)).to.deep.equal(ids(ports.slice(0, 2)));
    expect((await h.request('GET', `${N}/ports?network_id=${net.id}&network_id=not-a-uuid`)).status).to.equal(400);

    // Horizon's floating IP list: port_id=<p1>&port_id=<p2>&tenant_id=….
    const fips: J[] = [];
    for (const p of ports.slice(0, 2)) {
      const f = (await ok('POST', `${N}/floatingips`, { body: { floatingip: { floating_network_id: pub.id } } }, 201)).floatingip;
      fips.push((await ok('PUT', `${N}/floatingips/${f.id}`, { body: { floatingip: { port_id: p.id } } })).floatingip);
    }
    const found = (await ok('GET', `${N}/floatingips?port_id=${ports[0]!.id}&port_id=${ports[1]!.id}&port_id=${ports[2]!.id}&tenant_id=${project}`)).floatingips as J[];
    expect(ids(found)).to.deep.equal(ids(fips));
    // limit keeps to one value (the last), as Neutron reads it.
    expect((await ok('GET', `${N}/ports?device_id=vm-1&device_id=vm-2&device_id=vm-3&limit=5&limit=1`)).ports).to.have.length(1);
  });

  it('Cinder generic volume groups: the lists answer empty from 3.13, a show is a 404', async () => {
    const cinder = { 'openstack-api-version': 'volume 3.13' };
    expect(await ok('GET', '/volume/v3/groups/detail', { headers: cinder })).to.deep.equal({ groups: [] });
    expect(await ok('GET', '/volume/v3/groups', { headers: cinder })).to.deep.equal({ groups: [] });
    expect(await ok('GET', `/volume/v3/${project}/groups/detail?all_tenants=1&limit=10`, { headers: { 'openstack-api-version': 'volume 3.71' } })).to.deep.equal({ groups: [] });
    expect(await ok('GET', '/volume/v3/group_types', { headers: { 'openstack-api-version': 'volume 3.11' } })).to.deep.equal({ group_types: [] });
    const missing = await h.request('GET', '/volume/v3/groups/00000000-0000-0000-0000-000000000000', { headers: cinder });
    expect(missing.status, missing.text).to.equal(404);
    expect((await h.request('GET', '/volume/v3/group_types/default', { headers: cinder })).status).to.equal(404);
  });

  it('Neutron quota show and default hold only the resource limits (Horizon int()s every value)', async () => {
    for (const path of [`/network/v2.0/quotas/${project}`, `/network/v2.0/quotas/${project}/default`]) {
      const quota = (await ok('GET', path)).quota as J;
      expect(quota).to.not.have.any.keys('project_id', 'tenant_id');
      for (const [k, v] of Object.entries(quota)) expect(Number.isInteger(v), `${path} ${k}`).to.equal(true);
      expect(quota).to.include.keys('network', 'port', 'floatingip', 'router', 'security_group');
    }
    const updated = (await ok('PUT', `/network/v2.0/quotas/${project}`, { body: { quota: { network: 20 } } })).quota as J;
    expect(updated).to.include({ network: 20 });
    expect(updated).to.not.have.any.keys('project_id', 'tenant_id');
    // Only the list names each project.
    const listed = (await ok('GET', '/network/v2.0/quotas')).quotas as J[];
    expect(listed.find((q) => q.project_id === project)).to.include({ tenant_id: project, network: 20 });
  });
});
