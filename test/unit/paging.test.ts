/** src/paging: limit and marker as Nova pages. */
import { expect } from 'chai';
import { cinderVolumeListing, glanceImageListing, nextLink, neutronListing, paginate } from '../../src/paging.js';
import { ipv4Allocation } from '../../src/subnets.js';
import { Fault } from '../../src/faults.js';

describe('paging', () => {
  const items = ['a', 'b', 'c', 'd', 'e'];
  const id = (s: string) => s;
  it('limit and marker', () => {
    expect(paginate(items, { limit: 2 }, id)).to.deep.equal({ items: ['a', 'b'], more: true });
    expect(paginate(items, { limit: '2', marker: 'b' }, id)).to.deep.equal({ items: ['c', 'd'], more: true });
    expect(paginate(items, { limit: 2, marker: 'd' }, id)).to.deep.equal({ items: ['e'], more: false });
    expect(paginate(items, {}, id)).to.deep.equal({ items, more: false });
    expect(paginate(items, { limit: 0 }, id)).to.deep.equal({ items: [], more: false });
  });
  it('an unknown marker or a bad limit is a 400', () => {
    expect(() => paginate(items, { marker: 'zz' }, id)).to.throw(Fault, 'marker [zz] not found');
    expect(() => paginate(items, { limit: 'x' }, id)).to.throw(Fault, /limit/);
  });
  it('the next link keeps the query and sets the marker', () => {
    expect(nextLink('http://h/compute/v2.1/flavors?limit=2&minRam=5', { limit: '2', minRam: '5' }, 'b').href)
      .to.equal('http://h/compute/v2.1/flavors?limit=2&minRam=5&marker=b');
  });
});

describe('lists over documents a backend holds in memory', () => {
  const nets = [
    { id: 'a', name: 'one', shared: false, tags: ['x'] },
    { id: 'b', name: 'two', shared: true, tags: [] },
    { id: 'c', name: 'two', shared: true, tags: ['x', 'y'] },
  ];
  const url = 'http://gw/network/v2.0/networks?name=two&limit=1';

  it('Neutron: filters by scalar, boolean (True/true) and list fields, picks fields, pages with _links; unknown marker 404', () => {
    expect(neutronListing(nets, { shared: 'True' }, 'networks', url).networks).to.have.length(2);
    expect((neutronListing(nets, { tags: 'y' }, 'networks', url).networks as { id: string }[]).map((n) => n.id)).to.deep.equal(['c']);
    const page = neutronListing(nets, { name: 'two', limit: '1' }, 'networks', url);
    expect(page.networks).to.deep.equal([nets[1]]);
    expect((page.networks_links as { href: string }[])[0]!.href).to.equal('http://gw/network/v2.0/networks?name=two&limit=1&marker=b');
    expect(neutronListing(nets, { name: 'two', limit: '1', marker: 'b' }, 'networks', url)).to.deep.equal({ networks: [nets[2]] });
    expect(neutronListing(nets, { fields: ['id', 'name'] }, 'networks', url).networks).to.deep.equal(nets.map(({ id, name }) => ({ id, name })));
    expect(() => neutronListing(nets, { marker: 'zz' }, 'networks', url)).to.throw(Fault).with.property('status', 404);
    expect(() => neutronListing(nets, { limit: '-1' }, 'networks', url)).to.throw(Fault).with.property('status', 400);
  });

  it('Glance: filters, sorts (created_at desc by default), pages by 25 with next and first; visibility=all is no filter', () => {
    const images = Array.from({ length: 30 }, (_, i) => ({ id: `i${String(i).padStart(2, '0')}`, created_at: `2026-01-01T00:00:${String(i).padStart(2, '0')}Z`, visibility: i % 2 ? 'public' : 'private' }));
    const first = glanceImageListing(images, {}, ['visibility']);
    expect((first.images as { id: string }[])[0]!.id).to.equal('i29');
    expect(first.images).to.have.length(25);
    expect(first.next).to.equal('/v2/images?marker=i05');
    expect(glanceImageListing(images, { marker: 'i05' }, ['visibility']).images).to.have.length(5);
    expect(glanceImageListing(images, { visibility: 'public', sort_dir: 'asc', limit: '2' }, ['visibility'])).to.include({ next: '/v2/images?visibility=public&sort_dir=asc&limit=2&marker=i03' });
    expect(glanceImageListing(images, { visibility: 'all' }, ['visibility']).images).to.have.length(25);
    expect(() => glanceImageListing(images, { marker: 'nope' }, [])).to.throw(Fault).with.property('status', 400);
  });

  it('Cinder: filters, summary or detail, volumes_links; unknown marker 400', () => {
    const vols = ['a', 'b', 'c'].map((id, i) => ({ id, name: `v${i}`, status: i ? 'available' : 'in-use', size: 1, links: [] }));
    const url = 'http://gw/volume/v3/volumes?status=available&limit=1';
    const page = cinderVolumeListing(vols, { status: 'available', limit: '1' }, url, false, ['status']);
    expect(page.volumes).to.deep.equal([{ id: 'b', name: 'v1', links: [] }]);
    expect((page.volumes_links as { href: string }[])[0]!.href).to.equal('http://gw/volume/v3/volumes?status=available&limit=1&marker=b');
    expect(cinderVolumeListing(vols, { status: 'available', marker: 'b' }, url, true, ['status'])).to.deep.equal({ volumes: [vols[2]] });
    expect(() => cinderVolumeListing(vols, { marker: 'z' }, url, true, [])).to.throw(Fault).with.property('status', 400);
  });

  it('IPv4 allocation: gateway given or first host, one pool up to before broadcast, none for a /30', () => {
    expect(ipv4Allocation('10.1.2.0', 24)).to.deep.equal({ gateway_ip: '10.1.2.1', allocation_pools: [{ start: '10.1.2.2', end: '10.1.2.254' }] });
    expect(ipv4Allocation('10.1.2.64', 26, '10.1.2.65')).to.deep.equal({ gateway_ip: '10.1.2.65', allocation_pools: [{ start: '10.1.2.66', end: '10.1.2.126' }] });
    expect(ipv4Allocation('192.168.0.0', 30).allocation_pools).to.deep.equal([]);
  });
});
