/** src/identity/password-cache: a repeat login skips scrypt; nothing else does. */
import { expect } from 'chai';
import { VerifiedPasswordCache } from '../../src/identity/password-cache.js';
import { hashPassword, verifyPassword } from '../../src/identity/passwords.js';

/** Cheap scrypt parameters: the cache's logic, not scrypt, is under test. */
const FAST = { N: 1024, r: 8, p: 1 };

describe('VerifiedPasswordCache', () => {
  let now = 1_000_000;
  const clock = () => now;
  let checks = 0;
  const counted = (password: string, stored: string | undefined | null) => { checks++; return verifyPassword(password, stored); };
  let stored: string;

  beforeEach(async () => {
    now = 1_000_000;
    checks = 0;
    stored = await hashPassword('s3cret', FAST);
  });

  it('a second login with the same password is a hit: no scrypt', async () => {
    const cache = new VerifiedPasswordCache(300_000, 10, clock);
    expect(await cache.verify('s3cret', stored, counted)).to.equal(true);
    expect(await cache.verify('s3cret', stored, counted)).to.equal(true);
    expect(checks).to.equal(1);
  });

  it('a wrong password misses and pays scrypt every time, even after a hit; it is never remembered', async () => {
    const cache = new VerifiedPasswordCache(300_000, 10, clock);
    await cache.verify('s3cret', stored, counted);
    for (const wrong of ['s3cret ', 'S3cret', '', 's3cre']) expect(await cache.verify(wrong, stored, counted), wrong).to.equal(false);
    expect(checks).to.equal(5);
    expect(cache.size).to.equal(1);
    expect(await cache.verify('s3cret', stored, counted)).to.equal(true);
    expect(checks).to.equal(5);
  });

  it('a changed password (a new stored hash) misses: the old password no longer works, the new one is checked', async () => {
    const cache = new VerifiedPasswordCache(300_000, 10, clock);
    await cache.verify('s3cret', stored, counted);
    const changed = await hashPassword('n3w', FAST);
    expect(await cache.verify('s3cret', changed, counted)).to.equal(false);
    expect(await cache.verify('n3w', changed, counted)).to.equal(true);
    expect(checks).to.equal(3);
  });

  it('an entry expires after the ttl, counted from the scrypt check (a hit does not extend it)', async () => {
    const cache = new VerifiedPasswordCache(300_000, 10, clock);
    await cache.verify('s3cret', stored, counted);
    now += 299_999;
    expect(await cache.verify('s3cret', stored, counted)).to.equal(true);
    expect(checks).to.equal(1);
    now += 1;
    expect(await cache.verify('s3cret', stored, counted)).to.equal(true);
    expect(checks).to.equal(2);
  });

  it('ttl 0 turns it off: every login pays scrypt and nothing is kept', async () => {
    const cache = new VerifiedPasswordCache(0, 10, clock);
    for (let i = 0; i < 3; i++) expect(await cache.verify('s3cret', stored, counted)).to.equal(true);
    expect(checks).to.equal(3);
    expect(cache.size).to.equal(0);
  });

  it('holds at most max entries, dropping the least recently used', async () => {
    const cache = new VerifiedPasswordCache(300_000, 2, clock);
    const hashes = await Promise.all(['a', 'b', 'c'].map((p) => hashPassword(p, FAST)));
    for (const [i, p] of ['a', 'b', 'c'].entries()) await cache.verify(p, hashes[i], counted);
    expect(cache.size).to.equal(2);
    expect(cache.has(hashes[0]!, 'a')).to.equal(false);
    expect(cache.has(hashes[2]!, 'c')).to.equal(true);
  });

  it('no stored hash (a user without a password) is never a hit', async () => {
    const cache = new VerifiedPasswordCache(300_000, 10, clock);
    expect(await cache.verify('', undefined, counted)).to.equal(false);
    expect(await cache.verify('', '', counted)).to.equal(false);
    expect(cache.size).to.equal(0);
  });
});
