/**
 * CloudStack request signing and the client's rules, checked against the
 * documented signing string and against the real `cs` client's own signer
 * (python3-cs, cs.client.CloudStack._sign) as the oracle; the config section.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { CloudStackClient, csEncode, expiresAt, isReadOnly, signature, signingString } from '../../drivers/cloudstack/client.js';
import { verifySignature } from '../simulators/cloudstack/server.js';
import { ConfigError, loadConfig } from '../../src/config.js';

/** cs's signature for the same parameters and secret. */
function csSignature(params: Record<string, string>, secret: string): string {
  const py = 'import json,sys\nfrom cs.client import CloudStack\np=json.loads(sys.argv[1])\nCloudStack("http://127.0.0.1/", "k", sys.argv[2])._sign(p)\nprint(p["signature"])';
  return execFileSync('/usr/bin/python3', ['-c', py, JSON.stringify(params), secret], { encoding: 'utf8' }).trim();
}

describe('cloudstack: signing', () => {
  it('the signing string is the documented one: values encoded, pairs sorted by name, all lower-cased', () => {
    // The example of CloudStack's "Signing API Requests" guide.
    const params = { command: 'deployVirtualMachine', serviceOfferingId: '1', diskOfferingId: '1', templateId: '2', zoneId: '4', apiKey: 'miVr6X7u6bN_sdahOBpjNejPgEsT35eXq-jB8CG20YI3yaxXcgpyuaIRmFI_EJTVwZ0nUkkJbPmY3y2bciKwFQ' };
    expect(signingString(params)).to.equal('apikey=mivr6x7u6bn_sdahobpjnejpgest35exq-jb8cg20yi3yaxxcgpyuairmfi_ejtvwz0nukkjbpmy3y2bcikwfq&command=deployvirtualmachine&diskofferingid=1&serviceofferingid=1&templateid=2&zoneid=4');
  });

  it('values are encoded as Java\'s URLEncoder with %20 for spaces (what CloudStack re-encodes before checking)', () => {
    const table: [string, string][] = [
      ['a b', 'a%20b'], ['a+b', 'a%2Bb'], ['x*y.z-_', 'x*y.z-_'], ['~', '%7E'], ["(it's)!", '%28it%27s%29%21'], ['é/?&=', '%C3%A9%2F%3F%26%3D'],
    ];
    for (const [given, want] of table) expect(csEncode(given), given).to.equal(want);
  });

  it('signatures equal the real cs client\'s for the same parameters (spaces, symbols, unicode, camelCase names)', function () {
    this.timeout(20_000);
    const secret = randomBytes(40).toString('base64url');
    const cases: Record<string, string>[] = [
      { command: 'listZones', response: 'json', apiKey: 'KEY-1', signatureVersion: '3', expires: expiresAt(Date.now()) },
      { command: 'createSSHKeyPair', name: 'key with spaces*and.dots', response: 'json', apiKey: 'k' },
      { command: 'deployVirtualMachine', displayname: 'Web server: prod/1 (blue)', userdata: 'I2Nsb3VkLWNvbmZpZwo=', zoneid: 'z', apiKey: 'k' },
      { command: 'createSecurityGroup', description: 'Ünïcödé ✓ & more', name: 'g', apiKey: 'k' },
    ];
    for (const params of cases) {
      expect(signature(params, secret), JSON.stringify(params)).to.equal(csSignature(params, secret));
    }
  });

  it('the simulator accepts exactly what the client signs, and refuses a changed value or secret', () => {
    const client = new CloudStackClient({ endpoint: 'http://127.0.0.1:1/client/api', timeoutMs: 1000, retries: 0, signatureTtlSeconds: 600 });
    // A secret no base64 signature could hold by chance ('SK' once turned up in one).
    const secret = 'secret-key-of-the-test';
    const cred = { apiKey: 'AK', secretKey: secret };
    const query = client.signedQuery(cred, 'listVirtualMachines', { name: 'web 1', keyword: 'a+b' });
    const pairs = [...new URLSearchParams(query).entries()];
    expect(verifySignature(pairs, secret)).to.equal(true);
    expect(verifySignature(pairs, `${secret}2`)).to.equal(false);
    expect(verifySignature(pairs.map(([k, v]) => [k, k === 'name' ? 'web 2' : v] as [string, string]), secret)).to.equal(false);
    expect(Object.fromEntries(pairs)).to.include({ command: 'listVirtualMachines', response: 'json', apiKey: 'AK', signatureVersion: '3', name: 'web 1', keyword: 'a+b' });
    expect(query).to.include('name=web%201').and.include('keyword=a%2Bb').and.not.include(secret);
  });

  it('expires is CloudStack\'s yyyy-MM-ddTHH:mm:ssZ in UTC', () => {
    expect(expiresAt(Date.UTC(2026, 10, 23, 16, 5, 9, 321))).to.equal('2026-11-23T16:05:09+0000');
  });

  it('only list* and query* commands are read-only (retried)', () => {
    expect(['listZones', 'queryAsyncJobResult', 'listVirtualMachines'].every(isReadOnly)).to.equal(true);
    expect(['deployVirtualMachine', 'stopVirtualMachine', 'listing', 'associateIpAddress'].some(isReadOnly)).to.equal(false);
  });
});

describe('cloudstack: config', () => {
  it('has a cloudstack section with defaults; STACKGATE_CLOUDSTACK_ENDPOINT sets the endpoint', () => {
    const c = loadConfig({ env: { STACKGATE_CLOUDSTACK_ENDPOINT: 'http://cs.example:8080/client/api' } });
    expect(c.cloudstack).to.deep.include({ endpoint: 'http://cs.example:8080/client/api', retries: 2, zone: null, signatureTtlSeconds: 600 });
    expect(loadConfig({ overrides: { identity: { auth: ['cloudstack', 'local'] } } }).identity.auth).to.deep.equal(['cloudstack', 'local']);
  });

  it('refuses mapped users behind local, and a bad endpoint', () => {
    expect(() => loadConfig({ overrides: { identity: { auth: ['local', 'cloudstack'] }, cloudstack: { mappedUsers: { ops: { apiKeyEnv: 'OPS_CS_KEY', secretKeyEnv: 'OPS_CS_SECRET' } } } } }))
      .to.throw(ConfigError, /cloudstack\.mappedUsers needs 'cloudstack' before 'local'/);
    expect(() => loadConfig({ overrides: { cloudstack: { endpoint: 'ftp://x' } } })).to.throw(ConfigError, /cloudstack\.endpoint/);
  });
});
