/**
 * Two gateway processes sharing one data dir (key repository and SQLite
 * store): a token from one works on the other, a revocation on one holds on
 * the other, a key rotated by the CLI is used by both.
 */
import { expect } from 'chai';
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { registerSecret } from '../helpers/secrets.js';
import { keepAuditLog, serveProcess } from '../helpers/serve.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/stackgate');
const exec = promisify(execFile);
const PASSWORD = 'two-proc-pw';
registerSecret(PASSWORD, 'admin password of the served processes');

const serve = (config: string) => serveProcess(config);

async function issue(url: string, password: string): Promise<string> {
  const res = await fetch(`${url}/identity/v3/auth/tokens`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { name: 'Default' }, password } } }, scope: { project: { name: 'admin', domain: { name: 'Default' } } } } }),
  });
  expect(res.status).to.equal(201);
  return res.headers.get('x-subject-token')!;
}

describe('two gateway processes on one data dir', function () {
  this.timeout(120_000);
  let dir: string;
  const children: ChildProcess[] = [];
  before(() => { dir = mkdtempSync(join(tmpdir(), 'sg-two-')); });
  after(() => {
    for (const c of children) c.kill('SIGTERM');
    keepAuditLog(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it('share tokens, revocations and rotated keys', async () => {
    await exec('sh', [BIN, 'init', '--dir', dir, '--admin-password', PASSWORD, '--port', '0']);
    const config = join(dir, 'stackgate.yaml');
    const a = await serve(config);
    const b = await serve(config);
    children.push(a.child, b.child);
    expect(a.url).to.not.equal(b.url);

    const token = await issue(a.url, PASSWORD);
    const get = (url: string, t: string) => fetch(`${url}/compute/v2.1/flavors`, { headers: { 'x-auth-token': t } });
    expect((await get(b.url, token)).status).to.equal(200);

    const revoke = await fetch(`${b.url}/identity/v3/auth/tokens`, { method: 'DELETE', headers: { 'x-auth-token': token, 'x-subject-token': token } });
    expect(revoke.status).to.equal(204);
    expect((await get(a.url, token)).status).to.equal(401);

    // Rotate while both run: a token sealed with the new primary by one works on the other.
    const before = await issue(a.url, PASSWORD);
    const { stdout } = await exec('sh', [BIN, 'keys', 'rotate', '--config', config]);
    expect(stdout).to.match(/new primary key 2/);
    // A restarted process seals with key 2; the running one opens it on first sight.
    const c = await serve(config);
    children.push(c.child);
    const after = await issue(c.url, PASSWORD);
    expect(Buffer.from(after, 'base64url').readUInt32BE(1)).to.equal(2);
    expect((await get(a.url, after)).status).to.equal(200);
    expect((await get(c.url, before)).status).to.equal(200);
  });

  it('share the sandbox cloud: what one process writes, the other sees and enforces', async () => {
    const dir2 = join(dir, 'sandbox');
    await exec('sh', [BIN, 'init', '--dir', dir2, '--admin-password', PASSWORD, '--port', '0']);
    const config = join(dir2, 'stackgate.yaml');
    const a = await serve(config);
    const b = await serve(config);
    children.push(a.child, b.child);
    const token = await issue(a.url, PASSWORD);
    const call = async (url: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}/network/v2.0${path}`, {
        method, headers: { 'x-auth-token': token, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : undefined };
    };
    const net = await call(a.url, 'POST', '/networks', { network: { name: 'shared-net' } });
    expect(net.status).to.equal(201);
    const netId = net.json.network.id as string;
    // A reads the network's ports (none) before B adds one, so a stale read on A would let the delete through.
    expect((await call(a.url, 'GET', `/ports?network_id=${netId}`)).json.ports).to.deep.equal([]);
    const port = await call(b.url, 'POST', '/ports', { port: { network_id: netId, name: 'from-b' } });
    expect(port.status).to.equal(201);
    expect((await call(a.url, 'GET', `/ports?network_id=${netId}`)).json.ports.map((p: { name: string }) => p.name)).to.deep.equal(['from-b']);
    expect((await call(a.url, 'DELETE', `/networks/${netId}`)).status).to.equal(409);
    expect((await call(b.url, 'DELETE', `/ports/${port.json.port.id}`)).status).to.equal(204);
    expect((await call(a.url, 'DELETE', `/networks/${netId}`)).status).to.equal(204);
    expect((await call(b.url, 'GET', `/networks/${netId}`)).status).to.equal(404);
  });
});
