/** src/config: defaults, file, environment, and errors that name the field. */
import { expect } from 'chai';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, imageDir, loadConfig, regionConfig } from '../../src/config.js';

describe('config', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'sg-config-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return p; };

  it('defaults listen on loopback with the sandbox', () => {
    const c = loadConfig();
    expect(c.listen).to.deep.equal({ host: '127.0.0.1', port: 8000 });
    expect(c.backend).to.equal('sandbox');
    expect(c.identity.passwordCacheSeconds).to.equal(300);
    expect(loadConfig({ overrides: { identity: { passwordCacheSeconds: 0 } } }).identity.passwordCacheSeconds).to.equal(0);
  });

  it('regions: each merges its backend section over the top-level one; bad regions are named', () => {
    const c = loadConfig({ overrides: {
      softlayer: { datacenter: 'dal10' },
      identity: { auth: ['upstream-keystone', 'local'], upstreamKeystone: { authUrl: 'http://127.0.0.1:5000/v3' } },
      regions: [{ name: 'Two', backend: 'openstack' }, { name: 'Three', backend: 'softlayer', softlayer: { datacenter: 'wdc07' } }],
    } });
    expect(regionConfig(c, c.regions[1]!).softlayer.datacenter).to.equal('wdc07');
    expect(regionConfig(c, c.regions[1]!).softlayer.flavors).to.deep.equal(c.softlayer.flavors);
    expect(regionConfig(c, c.regions[0]!).openstack.credentials).to.equal('user');
    const bad = (regions: unknown, identity?: unknown) => () => loadConfig({ overrides: { regions, ...(identity ? { identity } : {}) } });
    expect(bad([{ name: 'RegionOne', backend: 'softlayer' }])).to.throw(ConfigError, /declared twice/);
    expect(bad([{ name: 'Two', backend: 'sandbox' }])).to.throw(ConfigError, /at most one region can use the sandbox/);
    expect(bad([{ name: 'Two', backend: 'openstack' }])).to.throw(ConfigError, /needs openstack.authUrl/);
    expect(bad([{ name: 'Two', backend: 'openstack', openstack: { authUrl: 'http://127.0.0.1:5000/v3' } }])).to.throw(ConfigError, /needs 'upstream-keystone'/);
    expect(bad([{ name: 'Two', backend: 'openstack', openstack: { authUrl: 'http://k/v3', credentials: 'service' } }])).to.throw(ConfigError, /needs openstack.serviceAccount/);
    expect(bad([{ name: 'Two', backend: 'softlayer', softlayer: { datacenter: 'nowhere' } }])).to.throw(ConfigError, /regions\.0\.softlayer\.datacenter/);
    expect(bad([{ name: 'a/b', backend: 'softlayer' }])).to.throw(ConfigError, /regions\.0\.name/);
    expect(bad([], { auth: ['upstream-keystone'] })).to.throw(ConfigError, /upstreamKeystone.authUrl/);
  });

  it('file, then environment, then overrides', () => {
    const c = loadConfig({
      file: file('a.yaml', 'listen: {port: 9000}\nregion: Lab\npublicUrl: https://cloud.example/'),
      env: { STACKGATE_LISTEN_PORT: '9100', STACKGATE_LOG_LEVEL: 'debug' },
      overrides: { region: 'Other' },
    });
    expect(c.listen.port).to.equal(9100);
    expect(c.log.level).to.equal('debug');
    expect(c.region).to.equal('Other');
    expect(c.publicUrl).to.equal('https://cloud.example');
  });

  const bad: [string, string, RegExp][] = [
    ['an unknown key', 'listen: {port: 1}\nbackned: sandbox', /backned: unknown key/],
    ['a bad URL', 'publicUrl: not-a-url', /publicUrl: not an http\(s\) URL/],
    ['a port out of range', 'listen: {port: 70000}', /listen\.port: must be <= 65535/],
    ['broken YAML', 'listen: [', /not valid YAML/],
    ['a postgres store without a url', 'store: {engine: postgres}', /store\.url: store\.engine 'postgres' needs a url/],
    ['a store url that is not PostgreSQL', 'store: {engine: postgres, url: "mysql://db/x"}', /store\.url: must match/],
    ['an unknown store engine', 'store: {engine: mongodb}', /store\.engine: must be equal to one of the allowed values/],
    ['a negative password cache time', 'identity: {passwordCacheSeconds: -1}', /identity\.passwordCacheSeconds: must be >= 0/],
    ['a fractional password cache time', 'identity: {passwordCacheSeconds: 1.5}', /identity\.passwordCacheSeconds: must be integer/],
  ];
  for (const [what, text, err] of bad) {
    it(`${what} is an error naming the field`, () => {
      expect(() => loadConfig({ file: file(`${what}.yaml`, text) })).to.throw(ConfigError, err);
    });
  }

  it('store: sqlite by default; postgres from the file or STACKGATE_STORE_*; sandbox.imageDir relative to the data dir', () => {
    expect(loadConfig({}).store).to.deep.equal({ engine: 'sqlite', path: null, url: null });
    const c = loadConfig({
      file: file('pg.yaml', 'dataDir: .\nstore: {engine: postgres, url: "postgresql://sg@db:5432/one"}\nsandbox: {imageDir: shared/images}'),
      env: { STACKGATE_STORE_URL: 'postgresql://sg@db:5432/two' },
    });
    expect(c.store).to.deep.equal({ engine: 'postgres', path: null, url: 'postgresql://sg@db:5432/two' });
    expect(imageDir(c)).to.equal(join(dir, 'shared/images'));
    expect(imageDir(loadConfig({ overrides: { dataDir: dir } }))).to.equal(join(dir, 'images'));
    expect(loadConfig({ env: { STACKGATE_STORE_ENGINE: 'postgres', STACKGATE_STORE_URL: 'postgres://h/db' } }).store.engine).to.equal('postgres');
  });

  it('a missing file is an error naming it', () => {
    expect(() => loadConfig({ file: join(dir, 'nope.yaml') })).to.throw(ConfigError, /nope\.yaml/);
  });
});
