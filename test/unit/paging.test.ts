/** src/paging: limit and marker as Nova pages. */
import { expect } from 'chai';
import { nextLink, paginate } from '../../src/paging.js';
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
