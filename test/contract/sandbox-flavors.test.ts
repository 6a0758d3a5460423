/** The sandbox's flavors, end to end through the generated routes, spec-checked responses. */
import { expect } from 'chai';
import { startGateway, type Harness } from '../helpers/gateway.js';

describe('sandbox: flavors', () => {
  let h: Harness;
  before(async () => { h = await startGateway({ contract: true }); });
  after(() => h.close());

  it('lists flavors with links, pages with limit/marker and a next link', async () => {
    const all = await h.request('GET', '/compute/v2.1/flavors');
    expect(all.status, all.text).to.equal(200);
    const flavors = (all.json as { flavors: { id: string; name: string; links: { href: string }[] }[] }).flavors;
    expect(flavors.map((f) => f.name)).to.include.members(['m1.tiny', 'm1.small']);
    expect(flavors[0]!.links[0]!.href).to.equal(`${h.url}/compute/v2.1/flavors/${flavors[0]!.id}`);
    const page = await h.request('GET', '/compute/v2.1/flavors?limit=2');
    const body = page.json as { flavors: { id: string }[]; flavors_links: { rel: string; href: string }[] };
    expect(body.flavors).to.have.length(2);
    expect(body.flavors_links[0]!.href).to.equal(`${h.url}/compute/v2.1/flavors?limit=2&marker=${body.flavors[1]!.id}`);
    const next = await h.request('GET', new URL(body.flavors_links[0]!.href).pathname + new URL(body.flavors_links[0]!.href).search);
    expect((next.json as { flavors: { id: string }[] }).flavors[0]!.id).to.equal(flavors[2]!.id);
  });

  it('detail filters by minRam and shows fields by microversion', async () => {
    const old = await h.request('GET', '/compute/v2.1/flavors/detail?minRam=4096');
    const list = (old.json as { flavors: { ram: number; swap: unknown }[] }).flavors;
    expect(list.every((f) => f.ram >= 4096)).to.equal(true);
    expect(list[0]!.swap).to.equal('');
    expect(list[0]).to.not.have.property('description');
    const now = await h.request('GET', '/compute/v2.1/flavors/detail', { headers: { 'openstack-api-version': 'compute 2.75' } });
    expect(now.status, now.text).to.equal(200);
    const f = (now.json as { flavors: Record<string, unknown>[] }).flavors[0]!;
    expect(f).to.include({ swap: 0 });
    expect(f).to.have.property('description');
    expect(f).to.have.property('extra_specs');
  });

  it('shows one flavor; a missing one is Nova\'s itemNotFound', async () => {
    const one = await h.request('GET', '/compute/v2.1/flavors/1');
    expect(one.json).to.deep.nested.include({ 'flavor.name': 'm1.tiny', 'flavor.vcpus': 1, 'flavor.ram': 512 });
    const none = await h.request('GET', '/compute/v2.1/flavors/nope');
    expect(none.status).to.equal(404);
    expect(none.json).to.deep.equal({ itemNotFound: { code: 404, message: 'Flavor nope could not be found.' } });
  });

  it('an unknown marker is a 400', async () => {
    const res = await h.request('GET', '/compute/v2.1/flavors?marker=zzz');
    expect(res.status).to.equal(400);
  });
});
