/** src/microversion: negotiation table. */
import { expect } from 'chai';
import { SERVICES } from '../../generated/services.js';
import { compareVersions, intersect, microversionHeaders, negotiateMicroversion } from '../../src/microversion.js';
import { Fault } from '../../src/faults.js';

const compute = SERVICES.find((s) => s.name === 'compute')!;
const volume = SERVICES.find((s) => s.name === 'block-storage')!;
const network = SERVICES.find((s) => s.name === 'network')!;
const range = { min: '2.1', max: '2.104' };

describe('microversions', () => {
  const table: [Record<string, string>, string | number][] = [
    [{}, '2.1'],
    [{ 'openstack-api-version': 'compute 2.47' }, '2.47'],
    [{ 'openstack-api-version': 'compute latest' }, '2.104'],
    [{ 'openstack-api-version': 'compute LATEST' }, '2.104'],
    [{ 'openstack-api-version': 'volume 3.5, compute 2.9' }, '2.9'],
    [{ 'openstack-api-version': 'volume 3.5' }, '2.1'],
    [{ 'x-openstack-nova-api-version': '2.30' }, '2.30'],
    [{ 'openstack-api-version': 'compute 2.60', 'x-openstack-nova-api-version': '2.30' }, '2.60'],
    [{ 'openstack-api-version': 'compute 2.105' }, 406],
    [{ 'openstack-api-version': 'compute 2.0' }, 406],
    [{ 'openstack-api-version': 'compute 2.x' }, 400],
    [{ 'openstack-api-version': 'compute 02.1' }, 400],
  ];
  for (const [headers, want] of table) {
    it(`${JSON.stringify(headers)} → ${want}`, () => {
      if (typeof want === 'number') {
        expect(() => negotiateMicroversion(compute, headers, range)).to.throw(Fault).with.property('status', want);
      } else {
        expect(negotiateMicroversion(compute, headers, range)).to.equal(want);
      }
    });
  }

  it('services without microversions negotiate nothing', () => {
    expect(negotiateMicroversion(network, { 'openstack-api-version': 'network 2.0' }, range)).to.equal(null);
  });

  it('the range is spec ∩ driver', () => {
    expect(intersect(range, { max: '2.90' })).to.deep.equal({ min: '2.1', max: '2.90' });
    expect(intersect(range, { min: '2.10', max: '2.200' })).to.deep.equal({ min: '2.10', max: '2.104' });
  });

  it('orders minor numbers numerically', () => {
    expect(compareVersions('2.9', '2.10')).to.be.below(0);
    expect(compareVersions('3.71', '3.8')).to.be.above(0);
  });

  it('echo headers: new and legacy, with Vary', () => {
    expect(microversionHeaders(compute, '2.5')).to.deep.equal({
      'OpenStack-API-Version': 'compute 2.5', 'X-OpenStack-Nova-API-Version': '2.5', Vary: 'OpenStack-API-Version, X-OpenStack-Nova-API-Version',
    });
    expect(microversionHeaders(volume, '3.27')).to.deep.equal({ 'OpenStack-API-Version': 'volume 3.27', Vary: 'OpenStack-API-Version' });
  });
});
