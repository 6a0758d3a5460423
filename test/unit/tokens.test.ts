/** Sealed tokens: tamper, truncation, wrong key, expiry, rotation, revocation. */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyRepository } from '../../src/identity/keys.js';
import { TokenError, TokenSealer, type TokenClaims } from '../../src/identity/tokens.js';
import { IdentityService, Unauthorized } from '../../src/identity/service.js';
import { IdentityStore } from '../../src/identity/store.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { localAuth } from '../../src/identity/auth.js';
import { bootstrapIdentity } from '../../src/identity/bootstrap.js';
import { Fault } from '../../src/faults.js';

const claims = (over: Partial<TokenClaims> = {}): TokenClaims => ({ u: 'u1', m: ['password'], p: 'p1', a: ['audit1'], i: Date.now(), e: Date.now() + 3600_000, ...over });

describe('tokens', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'sg-keys-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('seal and open round-trip; the backend credential is not readable in the token', () => {
    const sealer = new TokenSealer(new KeyRepository(join(dir, 'k')).ensure());
    const c = claims({ b: { apiKey: 'sl-api-key-0123456789' } });
    const t = sealer.seal(c);
    expect(sealer.open(t)).to.deep.equal(c);
    expect(Buffer.from(t, 'base64url').toString('latin1')).to.not.contain('sl-api-key');
  });

  it('changing any byte of a token makes it invalid', () => {
    const sealer = new TokenSealer(new KeyRepository(join(dir, 'k')).ensure());
    const raw = Buffer.from(sealer.seal(claims()), 'base64url');
    let rejected = 0;
    for (let i = 0; i < raw.length; i++) {
      const bad = Buffer.from(raw);
      bad[i] = bad[i]! ^ 0x01;
      try {
        sealer.open(bad.toString('base64url'));
      } catch (err) {
        expect(err).to.be.instanceOf(TokenError);
        rejected++;
      }
    }
    expect(rejected).to.equal(raw.length);
  });

  it('truncated, empty, foreign-charset and wrong-key tokens are refused', () => {
    const sealer = new TokenSealer(new KeyRepository(join(dir, 'k')).ensure());
    const other = new TokenSealer(new KeyRepository(join(dir, 'other')).ensure());
    const t = sealer.seal(claims());
    for (const bad of [t.slice(0, 30), t.slice(0, t.length - 1), '', 'not a token!', 'x'.repeat(5000), other.seal(claims())]) {
      expect(() => sealer.open(bad), bad.slice(0, 20)).to.throw(TokenError);
    }
  });

  it('rotation: old keys keep validating until retired', () => {
    const keys = new KeyRepository(join(dir, 'k')).ensure();
    const sealer = new TokenSealer(keys);
    const old = sealer.seal(claims());
    expect(keys.rotate(2)).to.deep.equal({ primary: 2, retired: [] });
    const fresh = sealer.seal(claims());
    expect(Buffer.from(fresh, 'base64url').readUInt32BE(1)).to.equal(2);
    expect(() => sealer.open(old)).to.not.throw();
    expect(keys.rotate(2)).to.deep.equal({ primary: 3, retired: [1] });
    expect(() => sealer.open(old)).to.throw(TokenError, /retired/);
    expect(() => sealer.open(fresh)).to.not.throw();
  });

  it('a key rotated by another process is picked up when a token names it', () => {
    const a = new KeyRepository(join(dir, 'k')).ensure();
    const b = new KeyRepository(join(dir, 'k')).ensure();
    a.rotate(3);
    const t = new TokenSealer(a).seal(claims());
    expect(new TokenSealer(b).open(t).u).to.equal('u1');
  });

  describe('validation against the store', () => {
    async function service(dbPath: string, ttlMs = 3600_000) {
      const identity = new IdentityService(new IdentityStore(new SqliteStore(dbPath)), new TokenSealer(new KeyRepository(join(dir, 'k')).ensure()), [localAuth], ttlMs);
      return identity;
    }

    it('expired tokens are 401', async () => {
      const identity = await service(join(dir, 'db'));
      const { user, project } = await bootstrapIdentity(identity, { adminPassword: 'pw' });
      const sealer = new TokenSealer(new KeyRepository(join(dir, 'k')).ensure());
      const t = sealer.seal(claims({ u: user.id, p: project.id, e: Date.now() - 1 }));
      expect(() => identity.validate(t)).to.throw(Unauthorized, /expired/);
    });

    it('revocation in one process holds in another sharing the store and keys', async () => {
      const a = await service(join(dir, 'db'));
      const { user, project } = await bootstrapIdentity(a, { adminPassword: 'pw' });
      const b = await service(join(dir, 'db'));
      const { token, valid } = a.issue({ user, methods: ['password'], scope: { project } });
      expect(b.validate(token).user.id).to.equal(user.id);
      b.revoke(b.validate(token));
      expect(() => a.validate(token)).to.throw(Unauthorized, /revoked/);
      expect(valid.claims.a).to.have.length(1);
    });

    describe('with the validated-token cache (keyed to the store\'s changeEpoch)', () => {
      function cached(dbPath: string) {
        const db = new SqliteStore(dbPath);
        const store = new IdentityStore(db);
        return { store, identity: new IdentityService(store, new TokenSealer(new KeyRepository(join(dir, 'k')).ensure()), [localAuth], 3600_000, { changes: () => db.changeEpoch() }) };
      }

      it('a revocation here, in another process, or a disabled user end a token the cache holds', async () => {
        const { identity: a, store } = cached(join(dir, 'db'));
        const { user, project } = await bootstrapIdentity(a, { adminPassword: 'pw' });
        const t1 = a.issue({ user, methods: ['password'], scope: { project } }).token;
        const t2 = a.issue({ user, methods: ['password'], scope: { project } }).token;
        const t3 = a.issue({ user, methods: ['password'], scope: { project } }).token;
        for (const t of [t1, t2, t3]) expect(a.validate(t).user.id).to.equal(user.id);
        a.revoke(a.validate(t1));
        expect(() => a.validate(t1)).to.throw(Unauthorized, /revoked/);
        expect(a.validate(t2).user.id).to.equal(user.id);
        const b = await service(join(dir, 'db'));
        b.revoke(b.validate(t2));
        expect(() => a.validate(t2)).to.throw(Unauthorized, /revoked/);
        store.put('user', { ...a.user(user.id)!, enabled: false }, `${user.domain_id}/${user.name}`, 'conflict');
        expect(() => a.validate(t3)).to.throw(Unauthorized, /disabled/);
      });

      it('a token the cache holds stops at its expiry; callers get copies', async () => {
        const { identity } = cached(join(dir, 'db'));
        const { user, project } = await bootstrapIdentity(identity, { adminPassword: 'pw' });
        const { token } = identity.issue({ user, methods: ['password'], scope: { project }, expiresAt: Date.now() + 40 });
        const first = identity.validate(token);
        first.roles.length = 0;
        first.user.name = 'changed';
        const again = identity.validate(token);
        expect(again.roles).to.not.be.empty;
        expect(again.user.name).to.equal(user.name);
        await new Promise((r) => setTimeout(r, 60));
        expect(() => identity.validate(token)).to.throw(Unauthorized, /expired/);
      });
    });

    it('a 401 is a Fault, never an internal error, for any garbage', async () => {
      const identity = await service(join(dir, 'db'));
      for (const bad of ['', 'abc', 'AQAAAAE' + 'A'.repeat(80), '%%%%', 'x'.repeat(200)]) {
        try {
          identity.validate(bad);
          expect.fail('accepted');
        } catch (err) {
          expect(err).to.be.instanceOf(Fault);
          expect((err as Fault).status).to.equal(401);
        }
      }
    });
  });
});
