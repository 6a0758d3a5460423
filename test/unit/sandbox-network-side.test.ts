/** The sandbox Neutron's side for Nova: server ports, addresses, the auto network, security groups. */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RequestContext } from '../../generated/common.js';
import { SandboxCloud, type NetworkSide } from '../../drivers/sandbox/cloud.js';
import { SandboxNetwork, networkSide } from '../../drivers/sandbox/network.js';
import { SandboxStore } from '../../drivers/sandbox/store.js';
import { SqliteStore } from '../../src/store/sqlite.js';

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- driver bodies, shapes asserted by the tests

describe('sandbox network side (for compute)', () => {
  let dir: string;
  let store: SqliteStore;
  let side: NetworkSide;
  let driver: SandboxNetwork;

  const ctx = (projectId: string, isAdmin = false): RequestContext => ({
    requestId: 'req-1', method: 'GET', service: 'network', operationId: 'x', microversion: null, region: 'RegionOne',
    endpoint: 'http://gw/network', url: 'http://gw/network/v2.0/x', signal: new AbortController().signal,
    auth: { userId: 'u', userName: 'u', userDomainId: 'default', projectId, roles: isAdmin ? ['admin'] : ['member'], isAdmin, auditId: 'a', expiresAt: '' },
  });
  // The driver's request objects, with only what these calls read.
  const req = (projectId: string, extra: J = {}, isAdmin = false): never => ({ path: {}, query: {}, body: undefined, headers: {}, context: ctx(projectId, isAdmin), ...extra }) as never;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sg-netside-'));
    store = new SqliteStore(join(dir, 'db.sqlite'));
    const cloud = new SandboxCloud(new SandboxStore(store), { buildDelayMs: 0, imageDir: dir, maxImageBytes: 1 });
    side = networkSide(cloud);
    cloud.network = side;
    driver = new SandboxNetwork(cloud);
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('autoNetwork makes one private network with 10.0.0.0/24, once per project', async () => {
    const a = side.autoNetwork('p1');
    expect(side.autoNetwork('p1')).to.equal(a);
    expect(side.autoNetwork('p2')).to.not.equal(a);
    const nets = (await driver.listNetworks(req('p1'))) as J;
    expect(nets.networks).to.have.length(1);
    const subnets = (await driver.listSubnets(req('p1'))) as J;
    expect(subnets.subnets.map((s: J) => [s.cidr, s.gateway_ip])).to.deep.equal([['10.0.0.0/24', '10.0.0.1']]);
  });

  it('allocates server ports with addresses and the default group, shows fixed and floating addresses, releases them', async () => {
    const net = side.autoNetwork('p1');
    const p1 = side.allocateServerPort('p1', { networkId: net, securityGroups: [], serverId: 'srv-1' });
    const p2 = side.allocateServerPort('p1', { networkId: net, securityGroups: ['default'], serverId: 'srv-1', fixedIp: '10.0.0.50' });
    expect(p1.fixed_ips[0]!.ip_address).to.equal('10.0.0.2');
    expect(p2.fixed_ips[0]!.ip_address).to.equal('10.0.0.50');
    expect(p1.mac_address).to.not.equal(p2.mac_address);
    const def = side.securityGroup('p1', 'default');
    expect(p1.security_groups).to.deep.equal([def.id]);
    expect(p1).to.include({ device_id: 'srv-1', device_owner: 'compute:nova', status: 'ACTIVE' });
    expect(() => side.allocateServerPort('p1', { networkId: net, securityGroups: [], serverId: 'srv-2', fixedIp: '10.0.0.50' })).to.throw(/already allocated/);
    expect(() => side.allocateServerPort('p2', { networkId: net, securityGroups: [], serverId: 'srv-3' })).to.throw(/could not be found/);
    expect(() => side.securityGroup('p1', 'nope')).to.throw(/not found/);

    // A user's port bound to a server is unbound (not deleted) on release.
    const own = (await driver.createPort(req('p1', { body: { port: { network_id: net, name: 'mine' } } }))) as J;
    side.allocateServerPort('p1', { portId: own.port.id, securityGroups: [], serverId: 'srv-1' });
    expect(() => side.allocateServerPort('p1', { portId: own.port.id, securityGroups: [], serverId: 'srv-9' })).to.throw(/attached device/);

    const addrs = side.serverAddresses('srv-1');
    expect(Object.keys(addrs)).to.deep.equal(['auto_allocated_network']);
    expect(addrs.auto_allocated_network!.map((a) => [a.addr, a['OS-EXT-IPS:type'], a.version])).to.deep.equal([
      ['10.0.0.2', 'fixed', 4], ['10.0.0.50', 'fixed', 4], ['10.0.0.3', 'fixed', 4],
    ]);
    expect(addrs.auto_allocated_network![0]!['OS-EXT-IPS-MAC:mac_addr']).to.equal(p1.mac_address);

    // Security groups on all of the server's ports.
    const web = (await driver.createSecurityGroup(req('p1', { body: { security_group: { name: 'web' } } }))) as J;
    side.setServerSecurityGroup('srv-1', web.security_group.id, true);
    const ports = ((await driver.listPorts(req('p1', { query: { device_id: 'srv-1' } }))) as J).ports;
    expect(ports.every((p: J) => p.security_groups.includes(web.security_group.id))).to.equal(true);
    side.setServerSecurityGroup('srv-1', web.security_group.id, false);
    expect(() => side.setServerSecurityGroup('srv-1', web.security_group.id, false)).to.throw(/not associated/);

    side.releaseServerPorts('srv-1');
    expect(side.serverAddresses('srv-1')).to.deep.equal({});
    const left = ((await driver.listPorts(req('p1'))) as J).ports;
    expect(left.map((p: J) => [p.id, p.device_id, p.status])).to.deep.equal([[own.port.id, '', 'DOWN']]);
  });

  it('shows a floating IP among a server\'s addresses', async () => {
    const pub = ((await driver.createNetwork(req('admin', { body: { network: { name: 'public', 'router:external': true } } }, true))) as J).network;
    await driver.createSubnet(req('admin', { body: { subnet: { network_id: pub.id, cidr: '203.0.113.0/24', ip_version: 4 } } }, true));
    const net = side.autoNetwork('p1');
    const subnet = ((await driver.listSubnets(req('p1', { query: { network_id: net } }))) as J).subnets[0];
    const router = ((await driver.createRouter(req('p1', { body: { router: { name: 'r', external_gateway_info: { network_id: pub.id } } } }))) as J).router;
    await driver.replaceRouterAddRouterInterface(req('p1', { path: { id: router.id }, body: { subnet_id: subnet.id } }));
    const port = side.allocateServerPort('p1', { networkId: net, securityGroups: [], serverId: 'srv-1' });
    const fip = ((await driver.createFloatingip(req('p1', { body: { floatingip: { floating_network_id: pub.id, port_id: port.id } } }))) as J).floatingip;
    expect(fip.fixed_ip_address).to.equal(port.fixed_ips[0]!.ip_address);
    const addrs = side.serverAddresses('srv-1').auto_allocated_network!;
    expect(addrs.map((a) => a['OS-EXT-IPS:type'])).to.deep.equal(['fixed', 'floating']);
    expect(addrs[1]!.addr).to.equal(fip.floating_ip_address);
    side.releaseServerPorts('srv-1');
    const after = ((await driver.showFloatingip(req('p1', { path: { id: fip.id } }))) as J).floatingip;
    expect(after.port_id).to.equal(null);
  });
  it('gives many server ports distinct MACs and the lowest free addresses, across networks and after deletes', async () => {
    const netA = side.autoNetwork('p1');
    const netB = ((await driver.createNetwork(req('p1', { body: { network: { name: 'b' } } }))) as J).network.id as string;
    await driver.createSubnet(req('p1', { body: { subnet: { network_id: netB, cidr: '10.9.0.0/22', ip_version: 4 } } }));
    const ports = Array.from({ length: 200 }, (_, i) => side.allocateServerPort('p1', { networkId: i % 4 === 0 ? netA : netB, securityGroups: [], serverId: `srv-${i}` }));
    const macs = ports.map((p) => p.mac_address);
    expect(new Set(macs).size, 'MACs').to.equal(200);
    for (const mac of macs) expect(mac).to.match(/^fa:16:3e(:[0-9a-f]{2}){3}$/);
    const ipsOf = (net: string) => ports.filter((p) => p.network_id === net).map((p) => p.fixed_ips[0]!.ip_address);
    // In order from the first host (.1 is the gateway), none twice.
    expect(ipsOf(netA)).to.deep.equal(Array.from({ length: 50 }, (_, i) => `10.0.0.${i + 2}`));
    expect(ipsOf(netB)).to.deep.equal(Array.from({ length: 150 }, (_, i) => `10.9.0.${i + 2}`));

    // A released address is the next one given; a taken one is refused.
    side.releaseServerPorts('srv-1');
    side.releaseServerPorts('srv-2');
    const again = side.allocateServerPort('p1', { networkId: netB, securityGroups: [], serverId: 'srv-new' });
    expect(again.fixed_ips[0]!.ip_address).to.equal('10.9.0.2');
    expect(macs).to.not.include(again.mac_address);
    expect(() => side.allocateServerPort('p1', { networkId: netB, securityGroups: [], serverId: 'srv-x', fixedIp: '10.9.0.5' })).to.throw(/already allocated/);
    expect(side.allocateServerPort('p1', { networkId: netB, securityGroups: [], serverId: 'srv-y', fixedIp: '10.9.0.3' }).fixed_ips[0]!.ip_address).to.equal('10.9.0.3');
    expect(side.allocateServerPort('p1', { networkId: netB, securityGroups: [], serverId: 'srv-z' }).fixed_ips[0]!.ip_address).to.equal('10.9.0.152');
  });

  it('keeps MACs unique on a network when a user has taken the next one', async () => {
    const net = side.autoNetwork('p1');
    const first = side.allocateServerPort('p1', { networkId: net, securityGroups: [], serverId: 'srv-1' });
    // The MAC the counter gives next, taken by a user's port first.
    const n = BigInt(Number(store.get<{ value: number }>("SELECT value FROM sandbox_counters WHERE name = 'network:mac'")!.value) + 1);
    const x = Number((n * 0x9e3779b1n) & 0xffffffn);
    const next = `fa:16:3e:${[x >> 16, (x >> 8) & 0xff, x & 0xff].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
    const own = ((await driver.createPort(req('p1', { body: { port: { network_id: net, mac_address: next } } }))) as J).port;
    expect(own.mac_address).to.equal(next);
    const second = side.allocateServerPort('p1', { networkId: net, securityGroups: [], serverId: 'srv-2' });
    expect(new Set([first.mac_address, own.mac_address, second.mac_address]).size).to.equal(3);
  });
});
