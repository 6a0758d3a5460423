/**
 * The SoftLayer simulator's object masks and filters (test/simulators/softlayer/mask.ts),
 * with masks as slcli writes them and filters as SoftLayer.utils.query_filter makes them.
 */
import { expect } from 'chai';
import { applyFilter, applyMask, parseMask, type MaskTree, type View } from '../simulators/softlayer/mask.js';

function plain(t: MaskTree): unknown {
  return Object.fromEntries([...t].map(([k, v]) => [k, v ? plain(v) : null]));
}

describe('SoftLayer simulator: object masks', () => {
  const table: [string, unknown][] = [
    ['mask[id,hostname]', { id: null, hostname: null }],
    ['id,datacenter[name]', { id: null, datacenter: { name: null } }],
    ['mask.datacenter.name', { datacenter: { name: null } }],
    ['mask[activeTransaction[id, transactionStatus[friendlyName,name]], activeTransaction.id]', { activeTransaction: { id: null, transactionStatus: { friendlyName: null, name: null } } }],
    ['filteredMask[tagReferences.tag.name]', { tagReferences: { tag: { name: null } } }],
    ['mask(SoftLayer_Virtual_Guest)[id]', { id: null }],
  ];
  for (const [given, want] of table) {
    it(`parses ${given}`, () => expect(plain(parseMask(given))).to.deep.equal(want));
  }

  it('rejects a mask that does not close', () => {
    expect(() => parseMask('mask[id,datacenter[name]')).to.throw(/missing "\]"/);
  });

  it('returns local properties always, relational ones only when named', () => {
    const view: View = { id: 1, hostname: 'a', datacenter: () => ({ id: 2, name: 'dal10', region: () => ({ name: 'us' }) }), tags: () => [{ name: 't' }] };
    expect(applyMask(view, null)).to.deep.equal({ id: 1, hostname: 'a' });
    expect(applyMask(view, parseMask('mask[datacenter]'))).to.deep.equal({ id: 1, hostname: 'a', datacenter: { id: 2, name: 'dal10' } });
    expect(applyMask(view, parseMask('mask[datacenter.region,tags]'))).to.deep.equal({ id: 1, hostname: 'a', datacenter: { id: 2, name: 'dal10', region: { name: 'us' } }, tags: [{ name: 't' }] });
  });
});

describe('SoftLayer simulator: object filters', () => {
  const items: View[] = [
    { id: 3, hostname: 'web-b', maxMemory: 2048, datacenter: () => ({ name: 'dal10' }), tags: () => [{ name: 'prod' }] },
    { id: 1, hostname: 'Web-A', maxMemory: 1024, datacenter: () => ({ name: 'wdc07' }), tags: () => [] },
    { id: 2, hostname: 'db', maxMemory: 4096, datacenter: () => ({ name: 'dal10' }), tags: () => [{ name: 'prod' }, { name: 'db' }] },
  ];
  const ids = (filter: object) => applyFilter(items, filter as never).map((v) => v.id);
  const table: [string, object, number[]][] = [
    ['exact string', { hostname: { operation: 'db' } }, [2]],
    ['_= is case-insensitive equality', { hostname: { operation: '_= web-a' } }, [1]],
    ['*= contains', { hostname: { operation: '*= WEB' } }, [3, 1]],
    ['^= begins with', { hostname: { operation: '^= we' } }, [3, 1]],
    ['$= ends with', { hostname: { operation: '$= -b' } }, [3]],
    ['a number is equality', { maxMemory: { operation: 2048 } }, [3]],
    ['> and <=', { maxMemory: { operation: '> 1024' } }, [3, 2]],
    ['nested relational property', { datacenter: { name: { operation: 'dal10' } } }, [3, 2]],
    ['a list matches when one member does', { tags: { name: { operation: 'db' } } }, [2]],
    ['in', { id: { operation: 'in', options: [{ name: 'data', value: [1, 2] }] } }, [1, 2]],
    ['orderBy', { id: { operation: 'orderBy', options: [{ name: 'sort', value: ['ASC'] }] } }, [1, 2, 3]],
    ['orderBy DESC with a condition', { hostname: { operation: '*= e' }, id: { operation: 'orderBy', options: [{ name: 'sort', value: ['DESC'] }] } }, [3, 1]],
  ];
  for (const [what, filter, want] of table) {
    it(what, () => expect(ids(filter)).to.deep.equal(want));
  }
});
