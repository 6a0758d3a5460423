/** Version discovery documents: always served, whatever the driver implements. */
import { expect } from 'chai';
import { startGateway, type Harness } from '../helpers/gateway.js';

describe('version discovery', () => {
  let h: Harness;
  before(async () => { h = await startGateway(); });
  after(() => h.close());

  it('compute: / lists v2.1 with its microversion range; /v2.1 and /v2.1/ show it', async () => {
    const list = await h.request('GET', '/compute/');
    expect(list.status).to.equal(200);
    expect(list.json).to.deep.nested.include({ 'versions[0].id': 'v2.1', 'versions[0].min_version': '2.1', 'versions[0].version': '2.104' });
    for (const p of ['/compute/v2.1', '/compute/v2.1/']) {
      const one = await h.request('GET', p);
      expect(one.status, p).to.equal(200);
      expect(one.json).to.deep.nested.include({ 'version.id': 'v2.1', 'version.links[0].href': `${h.url}/compute/v2.1/` });
    }
  });

  it('identity: / is 300 Multiple Choices with v3.14; /v3 shows it', async () => {
    const list = await h.request('GET', '/identity/');
    expect(list.status).to.equal(300);
    expect(list.json).to.deep.nested.include({ 'versions.values[0].id': 'v3.14', 'versions.values[0].status': 'stable' });
    const v3 = await h.request('GET', '/identity/v3');
    expect(v3.status).to.equal(200);
    expect(v3.json).to.deep.nested.include({ 'version.links[0].href': `${h.url}/identity/v3/` });
  });

  it('image, volume, network, placement', async () => {
    const image = await h.request('GET', '/image/');
    expect(image.status).to.equal(300);
    expect((image.json as { versions: { id: string; status: string }[] }).versions[0]).to.include({ id: 'v2.16', status: 'CURRENT' });
    const volume = await h.request('GET', '/volume/');
    expect(volume.json).to.deep.nested.include({ 'versions[0].id': 'v3.0', 'versions[0].version': '3.71', 'versions[0].min_version': '3.0' });
    const network = await h.request('GET', '/network/');
    expect(network.json).to.deep.nested.include({ 'versions[0].id': 'v2.0', 'versions[0].links[0].href': `${h.url}/network/v2.0/` });
    const placement = await h.request('GET', '/placement/');
    expect(placement.json).to.deep.nested.include({ 'versions[0].max_version': '1.39', 'versions[0].min_version': '1.0' });
  });

  it('links follow the public URL (behind a proxy)', async () => {
    const p = await startGateway({ publicUrl: 'https://cloud.example:13000' });
    try {
      const one = await p.request('GET', '/compute/v2.1/');
      expect(one.json).to.deep.nested.include({ 'version.links[0].href': 'https://cloud.example:13000/compute/v2.1/' });
    } finally {
      await p.close();
    }
  });

  it('X-Forwarded-Proto/Host are honoured only when trustProxy is on', async () => {
    const headers = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example' };
    const untrusted = await h.request('GET', '/identity/v3', { headers });
    expect(untrusted.json).to.deep.nested.include({ 'version.links[0].href': `${h.url}/identity/v3/` });
    const p = await startGateway({ trustProxy: true });
    try {
      const trusted = await p.request('GET', '/identity/v3', { headers });
      expect(trusted.json).to.deep.nested.include({ 'version.links[0].href': 'https://api.example/identity/v3/' });
    } finally {
      await p.close();
    }
  });
});
