/**
 * Regions: one Keystone, one catalog, a backend per region. The first region
 * (sandbox) is served at the plain prefixes, the second (the SoftLayer
 * simulator) under /region/RegionThree; one admin token works in both.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { startGateway, type Harness } from '../helpers/gateway.js';
import { newAccount } from '../helpers/softlayer.js';
import { startSoftLayerSimulator, type SoftLayerSimulator } from '../simulators/softlayer/server.js';

const MAPPED_ENV = 'STACKGATE_TEST_REGIONS_SL_KEY';

interface CatalogEndpoint { interface: string; region: string; region_id: string; url: string }
interface CatalogService { type: string; endpoints: CatalogEndpoint[] }

describe('regions: sandbox and SoftLayer behind one Keystone', function () {
  this.timeout(30_000);
  let sim: SoftLayerSimulator;
  let h: Harness;

  before(async () => {
    sim = await startSoftLayerSimulator({ provisionMs: 200, transactionMs: 100, cancelMs: 100 });
    const account = newAccount(sim);
    process.env[MAPPED_ENV] = account.apiKey;
    h = await startGateway({
      identity: { auth: ['softlayer', 'local'] },
      softlayer: { endpoint: sim.endpoint, timeoutMs: 5000, retries: 1, mappedUsers: { admin: { username: account.username, apiKeyEnv: MAPPED_ENV } } },
      regions: [{ name: 'RegionThree', backend: 'softlayer', softlayer: { datacenter: 'wdc07' } }],
    });
  });
  after(async () => {
    await h?.close();
    await sim?.close();
    delete process.env[MAPPED_ENV];
  });

  it('lists both regions in the token catalog: identity in each, the other services where their backend serves them', async () => {
    const res = await h.request('GET', '/identity/v3/auth/catalog');
    expect(res.status).to.equal(200);
    const catalog = (res.json as { catalog: CatalogService[] }).catalog;
    const url = (type: string, region: string) => catalog.find((s) => s.type === type)?.endpoints.find((e) => e.region_id === region && e.interface === 'public')?.url;
    expect(url('compute', 'RegionOne')).to.equal(`${h.url}/compute/v2.1`);
    expect(url('compute', 'RegionThree')).to.equal(`${h.url}/region/RegionThree/compute/v2.1`);
    expect(url('volumev3', 'RegionThree')).to.equal(`${h.url}/region/RegionThree/volume/v3`);
    expect(url('identity', 'RegionOne')).to.equal(`${h.url}/identity`);
    expect(url('identity', 'RegionThree')).to.equal(`${h.url}/identity`);
    // SoftLayer has no placement driver: RegionThree does not list it; the first region lists every service.
    expect(url('placement', 'RegionThree')).to.equal(undefined);
    expect(url('placement', 'RegionOne')).to.equal(`${h.url}/placement`);
    const regions = await h.request('GET', '/identity/v3/regions');
    expect((regions.json as { regions: Array<{ id: string }> }).regions.map((r) => r.id)).to.include.members(['RegionOne', 'RegionThree']);
  });

  it('routes each region to its backend with the same token', async () => {
    const sandbox = await h.request('GET', '/compute/v2.1/flavors');
    const softlayer = await h.request('GET', '/region/RegionThree/compute/v2.1/flavors');
    expect(sandbox.status).to.equal(200);
    expect(softlayer.status).to.equal(200);
    const names = (r: typeof sandbox) => (r.json as { flavors: Array<{ name: string }> }).flavors.map((f) => f.name);
    expect(names(sandbox)).to.include('m1.tiny');
    expect(names(softlayer)).to.include('sl.1x1x25');
    expect(names(softlayer)).not.to.include('m1.tiny');
  });

  it('answers links, Location and version documents with the region prefix', async () => {
    const doc = await h.request('GET', '/region/RegionThree/compute/', { token: null });
    expect(doc.status).to.equal(200);
    expect(JSON.stringify(doc.json)).to.contain(`${h.url}/region/RegionThree/compute/v2.1`);
    const name = `kp-${randomBytes(3).toString('hex')}`;
    const pub = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGy8j7c8n4VJx2o4xq2W3n2qGQ1HkZ5x0fCwP7xGm0yJ test@stackgate';
    const made = await h.request('POST', '/region/RegionThree/compute/v2.1/os-keypairs', { body: { keypair: { name, public_key: pub } } });
    expect(made.status, made.text).to.equal(200);
    const listed = await h.request('GET', '/region/RegionThree/compute/v2.1/os-keypairs');
    expect(JSON.stringify(listed.json)).to.contain(name);
    const sandboxListed = await h.request('GET', '/compute/v2.1/os-keypairs');
    expect(JSON.stringify(sandboxListed.json)).not.to.contain(name);
    const page = await h.request('GET', '/region/RegionThree/compute/v2.1/flavors?limit=1');
    const next = (page.json as { flavors_links?: Array<{ rel: string; href: string }> }).flavors_links?.find((l) => l.rel === 'next')?.href;
    expect(next).to.match(new RegExp(`^${h.url}/region/RegionThree/compute/v2\\.1/flavors\\?`));
  });

  it('answers 404 for a region it does not have, and for the first region under /region/', async () => {
    for (const path of ['/region/Nowhere/compute/v2.1/flavors', '/region/RegionOne/compute/v2.1/flavors']) {
      const res = await h.request('GET', path);
      expect(res.status, path).to.equal(404);
      expect(res.text).to.match(/region/i);
    }
  });

  it('names the region in a 501', async () => {
    const res = await h.request('GET', '/region/RegionThree/compute/v2.1/os-hypervisors');
    expect(res.status).to.equal(501);
    expect(res.text).to.contain('softlayer backend of region RegionThree');
  });
});
