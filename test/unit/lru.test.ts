/** src/lru: bounded, least recently used out first. */
import { expect } from 'chai';
import { Lru } from '../../src/lru.js';

describe('Lru', () => {
  it('drops the least recently used entry beyond max; get and set make an entry recent', () => {
    const lru = new Lru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).to.equal(1);
    lru.set('c', 3);
    expect([lru.get('a'), lru.get('b'), lru.get('c')]).to.deep.equal([1, undefined, 3]);
    lru.set('a', 4);
    lru.set('d', 5);
    expect([lru.get('a'), lru.get('c'), lru.get('d'), lru.size]).to.deep.equal([4, undefined, 5, 2]);
  });

  it('refuses a size that is not a positive integer', () => {
    for (const n of [0, -1, 1.5, NaN]) expect(() => new Lru(n)).to.throw();
  });
});
