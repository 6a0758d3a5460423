/**
 * OS reference codes (getCreateObjectOptions' operatingSystems) as Glance
 * images beside the templates, and servers ordered with one
 * (createObject's operatingSystemReferenceCode), against the SoftLayer
 * simulator with every response checked against the spec (contract mode).
 */
import { expect } from 'chai';
import { startSoftLayerGateway, type SoftLayerHarness } from '../helpers/softlayer.js';
import type { TestResponse } from '../helpers/gateway.js';
import { isOsImageUuid, osImageUuid, osProperties } from '../../drivers/softlayer/cloud.js';
import { OPERATING_SYSTEMS } from '../simulators/softlayer/state.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies, asserted field by field

const MV = { 'OpenStack-API-Version': 'compute 2.79' };

function expectStatus(res: TestResponse, status: number): void {
  expect(res.status, `${res.text} ${res.headers.get('x-stackgate-contract-violation') ?? ''}`).to.equal(status);
}

describe('softlayer: OS reference codes as images', function () {
  this.timeout(30_000);
  let h: SoftLayerHarness;
  const get = async (path: string, status = 200, headers: Record<string, string> = {}) => {
    const res = await h.gw.request('GET', path, { token: h.token, headers });
    expectStatus(res, status);
    return res.json as Json;
  };
  const ubuntu = osImageUuid('UBUNTU_22_64');

  before(async () => { h = await startSoftLayerGateway({ overrides: { contract: true } }); });
  after(async () => { await h?.close(); });

  it('ids are stable, name-based, marked and distinct; properties come from the code', () => {
    expect(osImageUuid('UBUNTU_22_64')).to.equal(ubuntu);
    expect(ubuntu).to.match(/^51000009-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(isOsImageUuid(ubuntu)).to.equal(true);
    expect(isOsImageUuid('51000001-0000-4000-8000-000000000001')).to.equal(false);
    expect(new Set(OPERATING_SYSTEMS.map((o) => osImageUuid(o.code))).size).to.equal(OPERATING_SYSTEMS.length);
    expect(osProperties('UBUNTU_22_64')).to.deep.equal({ os_distro: 'ubuntu', os_version: '22', architecture: 'x86_64' });
    expect(osProperties('CENTOS_LATEST')).to.deep.equal({ os_distro: 'centos' });
    expect(osProperties('REDHAT_8_64')).to.deep.equal({ os_distro: 'rhel', os_version: '8', architecture: 'x86_64' });
    expect(osProperties('WIN_2019-STD_64')).to.deep.equal({ os_distro: 'windows', os_version: '2019', architecture: 'x86_64' });
  });

  it('Glance lists every offered OS as a public, active image beside the templates; show works by its id', async () => {
    const images = (await get('/image/v2/images?limit=100')).images as Json[];
    const os = images.filter((i) => i.softlayer_image_type === 'os_reference_code');
    expect(os.map((i) => i.name).sort()).to.deep.equal(OPERATING_SYSTEMS.map((o) => o.code).sort());
    expect(images.some((i) => i.softlayer_image_type === 'template')).to.equal(true);
    const one = os.find((i) => i.name === 'UBUNTU_22_64')!;
    expect(one).to.include({
      id: ubuntu, status: 'active', visibility: 'public', protected: true, owner: null,
      os_distro: 'ubuntu', os_version: '22', architecture: 'x86_64', softlayer_os_code: 'UBUNTU_22_64',
      description: OPERATING_SYSTEMS.find((o) => o.code === 'UBUNTU_22_64')!.description,
    });
    expect(await get(`/image/v2/images/${ubuntu}`)).to.deep.equal(one);
    await get(`/image/v2/images/${osImageUuid('NOSUCH_9_64')}`, 404);
    // Nova's image proxy shows it too.
    expect((await get(`/compute/v2.1/images/${ubuntu}`)).image).to.include({ id: ubuntu, name: 'UBUNTU_22_64', status: 'ACTIVE' });
    expect(((await get('/compute/v2.1/images')).images as Json[]).map((i) => i.id)).to.include(ubuntu);
  });

  it('filters and paging run across templates and OS images', async () => {
    const all = (await get('/image/v2/images?limit=100')).images as Json[];
    const byName = (await get('/image/v2/images?name=DEBIAN_11_64')).images as Json[];
    expect(byName.map((i) => i.id)).to.deep.equal([osImageUuid('DEBIAN_11_64')]);
    const ubuntus = (await get('/image/v2/images?os_distro=ubuntu')).images as Json[];
    expect(ubuntus.map((i) => i.softlayer_image_type).sort()).to.deep.equal(['os_reference_code', 'template']);
    expect(((await get('/image/v2/images?softlayer_image_type=os_reference_code')).images as Json[])).to.have.length(OPERATING_SYSTEMS.length);
    const seen: string[] = [];
    let next: string | undefined = '/image/v2/images?limit=2';
    while (next) {
      const page = await get(next.startsWith('/image') ? next : `/image${next}`);
      seen.push(...(page.images as Json[]).map((i) => i.id as string));
      next = page.next as string | undefined;
    }
    expect(seen).to.deep.equal(all.map((i) => i.id));
    const novaIds: string[] = [];
    let marker = '';
    for (;;) {
      const page = (await get(`/compute/v2.1/images?limit=2${marker ? `&marker=${marker}` : ''}`)).images as Json[];
      if (!page.length) break;
      novaIds.push(...page.map((i) => i.id as string));
      marker = page[page.length - 1]!.id;
    }
    expect(novaIds).to.include(ubuntu);
    expect(new Set(novaIds).size).to.equal(novaIds.length);
  });

  it('an OS image is not the account\'s: delete, update and members are 403', async () => {
    expectStatus(await h.gw.request('DELETE', `/image/v2/images/${ubuntu}`, { token: h.token }), 403);
    const patch = await h.gw.request('PATCH', `/image/v2/images/${ubuntu}`, {
      token: h.token, raw: JSON.stringify([{ op: 'replace', path: '/name', value: 'mine' }]), headers: { 'content-type': 'application/openstack-images-v2.1-json-patch' },
    });
    expectStatus(patch, 403);
    expectStatus(await h.gw.request('POST', `/image/v2/images/${ubuntu}/members`, { token: h.token, body: { member: '424242' } }), 403);
    expectStatus(await h.gw.request('DELETE', `/compute/v2.1/images/${ubuntu}`, { token: h.token }), 403);
    expect((await get(`/image/v2/images/${ubuntu}`)).name).to.equal('UBUNTU_22_64');
  });

  it('a server created from an OS image orders the code; show and list report that image', async () => {
    const res = await h.gw.request('POST', '/compute/v2.1/servers', { token: h.token, headers: MV, body: { server: { name: 'os-1', flavorRef: 'sl.1x1x25', imageRef: ubuntu, networks: 'auto' } } });
    expectStatus(res, 202);
    const id = (res.json as Json).server.id as string;
    const g = h.sim.state.guests.get(parseInt(id.slice(-12), 16))!;
    expect([g.osCode, g.templateGroupId]).to.deep.equal(['UBUNTU_22_64', null]);
    const create = h.sim.calls.filter((c) => c.service === 'SoftLayer_Virtual_Guest' && c.method === 'createObject');
    expect(create).to.have.length.greaterThan(0);
    const shown = (await get(`/compute/v2.1/servers/${id}`, 200, MV)).server;
    expect(shown.image.id).to.equal(ubuntu);
    const listed = ((await get('/compute/v2.1/servers/detail', 200, MV)).servers as Json[]).find((s) => s.id === id)!;
    expect(listed.image.id).to.equal(ubuntu);
    // A guest from a template still shows the template.
    const tpl = ((await get('/image/v2/images?softlayer_image_type=template')).images as Json[])[0]!;
    const fromTpl = await h.gw.request('POST', '/compute/v2.1/servers', { token: h.token, headers: MV, body: { server: { name: 'tpl-1', flavorRef: 'sl.1x1x25', imageRef: tpl.id, networks: 'auto' } } });
    expectStatus(fromTpl, 202);
    expect((await get(`/compute/v2.1/servers/${(fromTpl.json as Json).server.id}`, 200, MV)).server.image.id).to.equal(tpl.id);
  });

  it('an OS code SoftLayer does not offer is a 400, at the gateway and at createObject', async () => {
    const res = await h.gw.request('POST', '/compute/v2.1/servers', { token: h.token, headers: MV, body: { server: { name: 'os-2', flavorRef: 'sl.1x1x25', imageRef: osImageUuid('NOSUCH_9_64'), networks: 'auto' } } });
    expectStatus(res, 400);
    expect((res.json as Json).badRequest.message).to.match(/could not be found/);
    // The simulator refuses a code it does not offer as SoftLayer does (SoftLayer_Exception_Public).
    const auth = `Basic ${Buffer.from(`${h.account.username}:${h.account.apiKey}`).toString('base64')}`;
    const sl = await fetch(`${h.sim.endpoint}/SoftLayer_Virtual_Guest/createObject.json`, {
      method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ parameters: [{ hostname: 'x', domain: 'example.com', startCpus: 1, maxMemory: 1024, hourlyBillingFlag: true, datacenter: { name: 'dal10' }, operatingSystemReferenceCode: 'NOSUCH_9_64' }] }),
    });
    expect(sl.status).to.equal(500);
    const body = await sl.json() as Json;
    expect(body.code).to.equal('SoftLayer_Exception_Public');
    expect(body.error).to.match(/operatingSystemReferenceCode/);
  });

  it('rebuild with the guest\'s own OS image reloads it; another OS code is a 400', async () => {
    const res = await h.gw.request('POST', '/compute/v2.1/servers', { token: h.token, headers: MV, body: { server: { name: 'os-3', flavorRef: 'sl.1x1x25', imageRef: ubuntu, networks: 'auto' } } });
    expectStatus(res, 202);
    const id = (res.json as Json).server.id as string;
    const end = Date.now() + 10_000;
    while ((await get(`/compute/v2.1/servers/${id}`, 200, MV)).server.status !== 'ACTIVE') {
      if (Date.now() > end) throw new Error('server never became ACTIVE');
      await new Promise((r) => setTimeout(r, 100));
    }
    const other = await h.gw.request('POST', `/compute/v2.1/servers/${id}/action`, { token: h.token, headers: MV, body: { rebuild: { imageRef: osImageUuid('DEBIAN_11_64') } } });
    expectStatus(other, 400);
    const same = await h.gw.request('POST', `/compute/v2.1/servers/${id}/action`, { token: h.token, headers: MV, body: { rebuild: { imageRef: ubuntu } } });
    expectStatus(same, 202);
    expect((same.json as Json).server.image.id).to.equal(ubuntu);
    expect(h.sim.calls.some((c) => c.method === 'reloadOperatingSystem')).to.equal(true);
  });
});
