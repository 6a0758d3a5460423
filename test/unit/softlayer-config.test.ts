/** The `softlayer` config section and the `softlayer` auth plugin name, validated at load. */
import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('config: softlayer', () => {
  it('has defaults for the public REST endpoint and a flavor list', () => {
    const c = loadConfig();
    expect(c.softlayer.endpoint).to.equal('https://api.softlayer.com/rest/v3.1');
    expect(c.softlayer.flavors.length).to.be.greaterThan(0);
    expect(c.identity.auth).to.deep.equal(['local']);
  });

  it('takes the endpoint from STACKGATE_SOFTLAYER_ENDPOINT and the plugin from identity.auth', () => {
    const c = loadConfig({ env: { STACKGATE_SOFTLAYER_ENDPOINT: 'http://127.0.0.1:9/rest/v3.1' }, overrides: { identity: { auth: ['softlayer', 'local'] } } });
    expect(c.softlayer.endpoint).to.equal('http://127.0.0.1:9/rest/v3.1');
    expect(c.identity.auth).to.deep.equal(['softlayer', 'local']);
  });

  const bad: [string, unknown, RegExp][] = [
    ['an endpoint that is not a URL', { softlayer: { endpoint: 'api.softlayer.com' } }, /softlayer\.endpoint/],
    ['a flavor without disk', { softlayer: { flavors: [{ name: 'x', vcpus: 1, ramMb: 1024 }] } }, /softlayer\.flavors\.0/],
    ['a datacenter that is no SoftLayer short name', { softlayer: { datacenter: 'Dallas' } }, /softlayer\.datacenter/],
    ['an unknown key', { softlayer: { apiKey: 'x' } }, /softlayer\.apiKey: unknown key/],
    ['an unknown auth plugin', { identity: { auth: ['kerberos'] } }, /identity\.auth/],
    ['mapped users with local first', { identity: { auth: ['local', 'softlayer'] }, softlayer: { mappedUsers: { ops: { username: 'SL1', apiKeyEnv: 'SL_KEY' } } } }, /'softlayer' before 'local'/],
  ];
  for (const [what, overrides, message] of bad) {
    it(`refuses ${what}`, () => {
      expect(() => loadConfig({ overrides })).to.throw(ConfigError, message);
    });
  }
});
