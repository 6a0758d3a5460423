/**
 * The sandbox's Neutron over HTTP, against the contract-checking gateway (a
 * response that violates the spec is a 500): CIDR math, IP and MAC
 * allocation, the 409s Neutron answers, routers and floating IPs, security
 * groups, quotas, isolation between projects, filters and paging links.
 */
import { expect } from 'chai';
import { startGateway, type Harness, type TestResponse } from '../helpers/gateway.js';

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies, shapes asserted by the tests

const N = '/network/v2.0';

describe('sandbox network (Neutron v2.0)', function () {
  this.timeout(60_000);
  let h: Harness;
  let other: { projectId: string; token: string };
  let adminProject: string;

  async function ok(res: Promise<TestResponse>, status = 200): Promise<J> {
    const r = await res;
    expect(r.status, `${r.status} ${r.text} ${r.headers.get('x-stackgate-contract-violation') ?? ''}`).to.equal(status);
    return (r.json ?? {}) as J;
  }

  async function fault(res: Promise<TestResponse>, status: number, type?: string): Promise<J> {
    const r = await res;
    expect(r.status, r.text).to.equal(status);
    const e = (r.json as J).NeutronError;
    expect(e, r.text).to.be.an('object');
    if (type) expect(e.type, r.text).to.equal(type);
    return e;
  }

  const post = (path: string, body: unknown, token?: string) => h.request('POST', N + path, { body, ...(token ? { token } : {}) });
  const put = (path: string, body: unknown, token?: string) => h.request('PUT', N + path, { body, ...(token ? { token } : {}) });
  const get = (path: string, token?: string) => h.request('GET', N + path, token ? { token } : {});
  const del = (path: string, token?: string) => h.request('DELETE', N + path, token ? { token } : {});

  async function network(name: string, extra: J = {}, token?: string): Promise<J> {
    return (await ok(post('/networks', { network: { name, ...extra } }, token), 201)).network;
  }
  async function subnet(networkId: string, cidr: string, extra: J = {}, token?: string): Promise<J> {
    return (await ok(post('/subnets', { subnet: { network_id: networkId, cidr, ip_version: cidr.includes(':') ? 6 : 4, ...extra } }, token), 201)).subnet;
  }
  async function port(networkId: string, extra: J = {}, token?: string): Promise<J> {
    return (await ok(post('/ports', { port: { network_id: networkId, ...extra } }, token), 201)).port;
  }

  before(async () => {
    h = await startGateway({ contract: true });
    const roles = await h.request('GET', '/identity/v3/roles?name=member');
    const memberRoleId = (roles.json as J).roles[0].id as string;
    const p = await h.request('POST', '/identity/v3/projects', { body: { project: { name: 'net-b', domain_id: 'default' } } });
    const projectId = (p.json as J).project.id as string;
    const u = await h.request('POST', '/identity/v3/users', { body: { user: { name: 'net-bob', password: 'bob-secret-1', domain_id: 'default' } } });
    await h.request('PUT', `/identity/v3/projects/${projectId}/users/${(u.json as J).user.id}/roles/${memberRoleId}`);
    other = { projectId, token: await h.login('net-bob', 'bob-secret-1', 'net-b') };
    adminProject = ((await h.request('GET', '/identity/v3/auth/projects')).json as J).projects.find((x: J) => x.name === 'admin').id;
  });
  after(() => h.close());

  it('lists the extensions it implements, and shows one by alias', async () => {
    const body = await ok(get('/extensions'));
    const aliases = body.extensions.map((e: J) => e.alias);
    expect(aliases).to.include.members(['router', 'external-net', 'security-group', 'quotas', 'standard-attr-timestamp', 'standard-attr-revisions', 'binding', 'pagination', 'sorting']);
    expect(aliases).to.not.include.members(['dvr', 'l3-ha', 'qos', 'trunk', 'extraroute', 'dns-integration', 'subnet_allocation']);
    expect((await ok(get('/extensions/router'))).extension.alias).to.equal('router');
    await fault(get('/extensions/no-such'), 404);
    const az = await ok(get('/availability_zones'));
    expect(az.availability_zones).to.deep.include({ name: 'nova', resource: 'network', state: 'available' });
  });

  it('creates, shows, updates and lists a network with Neutron\'s attributes', async () => {
    const n = await network('alpha');
    expect(n).to.include({ name: 'alpha', admin_state_up: true, shared: false, 'router:external': false, mtu: 1500, status: 'ACTIVE', project_id: adminProject, tenant_id: adminProject, revision_number: 1 });
    expect(n.subnets).to.deep.equal([]);
    expect(n.created_at).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(n.updated_at).to.match(/Z$/);
    const up = (await ok(put(`/networks/${n.id}`, { network: { name: 'alpha2', mtu: 1400 } }))).network;
    expect(up).to.include({ name: 'alpha2', mtu: 1400, revision_number: 2 });
    const shown = (await ok(get(`/networks/${n.id}?fields=id&fields=name`))).network;
    expect(shown).to.deep.equal({ id: n.id, name: 'alpha2' });
    const listed = (await ok(get('/networks?name=alpha2'))).networks;
    expect(listed.map((x: J) => x.id)).to.deep.equal([n.id]);
    expect((await ok(get('/networks?name=nope'))).networks).to.deep.equal([]);
    await fault(get('/networks/00000000-0000-0000-0000-000000000000'), 404, 'NetworkNotFound');
    await ok(del(`/networks/${n.id}`), 204);
    await fault(get(`/networks/${n.id}`), 404, 'NetworkNotFound');
  });

  it('creates in bulk, all or nothing', async () => {
    const made = await ok(post('/networks', { networks: [{ name: 'bulk-1' }, { name: 'bulk-2' }] }), 201);
    expect(made.networks.map((n: J) => n.name)).to.deep.equal(['bulk-1', 'bulk-2']);
    const subs = await ok(post('/subnets', { subnets: made.networks.map((n: J) => ({ network_id: n.id, cidr: '10.60.0.0/24', ip_version: 4 })) }), 201);
    expect(subs.subnets.map((x: J) => x.gateway_ip)).to.deep.equal(['10.60.0.1', '10.60.0.1']);
    // The second port asks for the first one's address: nothing is created.
    await fault(post('/ports', { ports: [{ network_id: made.networks[0].id, fixed_ips: [{ ip_address: '10.60.0.9' }] }, { network_id: made.networks[0].id, fixed_ips: [{ ip_address: '10.60.0.9' }] }] }), 409, 'IpAddressAlreadyAllocated');
    expect((await ok(get(`/ports?network_id=${made.networks[0].id}`))).ports).to.deep.equal([]);
    for (const n of made.networks) await ok(del(`/networks/${n.id}`), 204);
  });

  it('does real CIDR math: gateways, allocation pools, IPv6, and refuses bad or overlapping CIDRs', async () => {
    const n = await network('cidr-net');
    const s = await subnet(n.id, '10.1.0.0/24', { dns_nameservers: ['8.8.8.8', '1.1.1.1'], host_routes: [{ destination: '172.16.0.0/16', nexthop: '10.1.0.254' }] });
    expect(s).to.include({ cidr: '10.1.0.0/24', gateway_ip: '10.1.0.1', ip_version: 4, enable_dhcp: true, ipv6_address_mode: null, ipv6_ra_mode: null });
    expect(s.allocation_pools).to.deep.equal([{ start: '10.1.0.2', end: '10.1.0.254' }]);
    expect(s.dns_nameservers).to.deep.equal(['8.8.8.8', '1.1.1.1']);
    expect(s.host_routes).to.deep.equal([{ destination: '172.16.0.0/16', nexthop: '10.1.0.254' }]);
    // A gateway inside the range splits the pool around it.
    const mid = await subnet(n.id, '192.168.5.0/28', { gateway_ip: '192.168.5.7' });
    expect(mid.allocation_pools).to.deep.equal([{ start: '192.168.5.1', end: '192.168.5.6' }, { start: '192.168.5.8', end: '192.168.5.14' }]);
    const none = await subnet(n.id, '192.168.6.0/29', { gateway_ip: null });
    expect(none.gateway_ip).to.equal(null);
    expect(none.allocation_pools).to.deep.equal([{ start: '192.168.6.1', end: '192.168.6.6' }]);
    const v6 = await subnet(n.id, '2001:db8:0:1::/64', { ipv6_address_mode: 'slaac', ipv6_ra_mode: 'slaac' });
    expect(v6).to.include({ ip_version: 6, gateway_ip: '2001:db8:0:1::1', ipv6_address_mode: 'slaac' });
    expect(v6.allocation_pools).to.deep.equal([{ start: '2001:db8:0:1::2', end: '2001:db8:0:1:ffff:ffff:ffff:ffff' }]);
    const shown = (await ok(get(`/networks/${n.id}`))).network;
    expect(shown.subnets).to.have.members([s.id, mid.id, none.id, v6.id]);

    await fault(post('/subnets', { subnet: { network_id: n.id, cidr: '10.2.0.5/24', ip_version: 4 } }), 400);
    await fault(post('/subnets', { subnet: { network_id: n.id, cidr: '10.1.0.128/25', ip_version: 4 } }), 400);
    await fault(post('/subnets', { subnet: { network_id: n.id, cidr: '10.3.0.0/24', ip_version: 6 } }), 400);
    await fault(post('/subnets', { subnet: { network_id: n.id, cidr: '10.3.0.0/33', ip_version: 4 } }), 400);
    await fault(post('/subnets', { subnet: { network_id: n.id, cidr: 'banana', ip_version: 4 } }), 400);
    await fault(post('/subnets', { subnet: { network_id: n.id, cidr: '10.4.0.0/24', ip_version: 4, gateway_ip: '10.5.0.1' } }), 400);
    await fault(post('/subnets', { subnet: { network_id: n.id, cidr: '10.4.0.0/24', ip_version: 4, allocation_pools: [{ start: '10.4.0.10', end: '10.4.1.20' }] } }), 400);
    await fault(post('/subnets', { subnet: { network_id: n.id, cidr: '10.4.0.0/24', ip_version: 4, allocation_pools: [{ start: '10.4.0.1', end: '10.4.0.20' }] } }), 409, 'GatewayConflictWithAllocationPools');
    // The same CIDR on another network is fine (overlapping IPs are per network).
    const n2 = await network('cidr-net-2');
    await subnet(n2.id, '10.1.0.0/24');
    const upd = (await ok(put(`/subnets/${s.id}`, { subnet: { name: 'renamed', dns_nameservers: [] } }))).subnet;
    expect(upd).to.include({ name: 'renamed', revision_number: 2 });
    expect(upd.dns_nameservers).to.deep.equal([]);
    await fault(put(`/subnets/${s.id}`, { subnet: { cidr: '10.9.0.0/24' } }), 400);
  });

  it('allocates fixed IPs from the pools without duplicates and unique MACs; 409 when taken or exhausted', async () => {
    const n = await network('alloc-net');
    const s = await subnet(n.id, '10.20.0.0/29'); // hosts .1-.6, gateway .1, pool .2-.6
    const ports: J[] = [];
    for (let i = 0; i < 4; i++) ports.push(await port(n.id, { name: `p${i}` }));
    const ips = ports.map((p) => p.fixed_ips[0].ip_address);
    expect(ips).to.deep.equal(['10.20.0.2', '10.20.0.3', '10.20.0.4', '10.20.0.5']);
    expect(ports.every((p) => p.fixed_ips[0].subnet_id === s.id)).to.equal(true);
    const macs = ports.map((p) => p.mac_address);
    expect(new Set(macs).size).to.equal(4);
    for (const m of macs) expect(m).to.match(/^fa:16:3e(:[0-9a-f]{2}){3}$/);
    await fault(post('/ports', { port: { network_id: n.id, fixed_ips: [{ ip_address: '10.20.0.3' }] } }), 409, 'IpAddressAlreadyAllocated');
    await fault(post('/ports', { port: { network_id: n.id, fixed_ips: [{ ip_address: '10.20.0.1' }] } }), 409, 'IpAddressAlreadyAllocated');
    await fault(post('/ports', { port: { network_id: n.id, fixed_ips: [{ ip_address: '10.99.0.3' }] } }), 400);
    await fault(post('/ports', { port: { network_id: n.id, mac_address: macs[0] } }), 409, 'MacAddressInUse');
    const last = await port(n.id, { fixed_ips: [{ subnet_id: s.id }] });
    expect(last.fixed_ips[0].ip_address).to.equal('10.20.0.6');
    await fault(post('/ports', { port: { network_id: n.id } }), 409, 'IpAddressGenerationFailure');
    // Freed addresses are given out again; a requested one is honoured.
    await ok(del(`/ports/${ports[1]!.id}`), 204);
    const again = await port(n.id, { fixed_ips: [{ ip_address: '10.20.0.3' }], device_id: 'dev-1', device_owner: 'compute:nova' });
    expect(again.fixed_ips).to.deep.equal([{ subnet_id: s.id, ip_address: '10.20.0.3' }]);
    expect(again).to.include({ device_id: 'dev-1', device_owner: 'compute:nova', 'binding:vnic_type': 'normal' });
    // Port attributes: the project's default security group, bindings.
    const groups = (await ok(get('/security-groups?name=default'))).security_groups;
    expect(again.security_groups).to.deep.equal([groups[0].id]);
    // Filters: device_id, fixed_ips, network_id, fields.
    expect((await ok(get('/ports?device_id=dev-1'))).ports.map((p: J) => p.id)).to.deep.equal([again.id]);
    expect((await ok(get('/ports?fixed_ips=ip_address%3D10.20.0.4'))).ports.map((p: J) => p.id)).to.deep.equal([ports[2]!.id]);
    const slim = (await ok(get(`/ports?network_id=${n.id}&fields=id&fields=mac_address`))).ports;
    expect(slim).to.have.length(5);
    expect(Object.keys(slim[0]).sort()).to.deep.equal(['id', 'mac_address']);
    // Update: a new fixed IP is checked like a new one.
    await fault(put(`/ports/${again.id}`, { port: { fixed_ips: [{ ip_address: '10.20.0.4' }] } }), 409, 'IpAddressAlreadyAllocated');
    const moved = (await ok(put(`/ports/${again.id}`, { port: { name: 'moved', fixed_ips: [{ subnet_id: s.id, ip_address: '10.20.0.3' }] } }))).port;
    expect(moved).to.include({ name: 'moved', revision_number: 2 });

    // In use: the subnet and the network refuse deletion while ports hold addresses.
    await fault(del(`/subnets/${s.id}`), 409, 'SubnetInUse');
    await fault(del(`/networks/${n.id}`), 409, 'NetworkInUse');
    for (const p of (await ok(get(`/ports?network_id=${n.id}`))).ports) await ok(del(`/ports/${p.id}`), 204);
    await ok(del(`/subnets/${s.id}`), 204);
    await ok(del(`/networks/${n.id}`), 204);
  });

  it('gives ports on SLAAC subnets their EUI-64 address, besides one IPv4 address', async () => {
    const n = await network('slaac-net');
    const v4 = await subnet(n.id, '10.70.0.0/24');
    const v6 = await subnet(n.id, '2001:db8:1::/64', { ipv6_ra_mode: 'slaac', ipv6_address_mode: 'slaac' });
    const p = await port(n.id, { mac_address: 'fa:16:3e:12:34:56' });
    expect(p.fixed_ips).to.have.deep.members([{ subnet_id: v4.id, ip_address: '10.70.0.2' }, { subnet_id: v6.id, ip_address: '2001:db8:1:0:f816:3eff:fe12:3456' }]);
    await fault(post('/ports', { port: { network_id: n.id, fixed_ips: [{ subnet_id: v6.id, ip_address: '2001:db8:1::99' }] } }), 400);
    // Deleting a SLAAC subnet takes its addresses off the ports.
    await ok(del(`/subnets/${v6.id}`), 204);
    expect((await ok(get(`/ports/${p.id}`))).port.fixed_ips).to.deep.equal([{ subnet_id: v4.id, ip_address: '10.70.0.2' }]);
    await ok(del(`/ports/${p.id}`), 204);
    await ok(del(`/networks/${n.id}`), 204);
  });

  it('routers: gateway on an external network, interfaces on the subnet gateway IP, floating IPs, RouterInUse', async () => {
    const pub = await network('public', { 'router:external': true });
    expect(pub['router:external']).to.equal(true);
    const pubSub = await subnet(pub.id, '203.0.113.0/28');
    const n = await network('private');
    const s = await subnet(n.id, '10.30.0.0/24');
    const r = (await ok(post('/routers', { router: { name: 'r1', external_gateway_info: { network_id: pub.id } } }), 201)).router;
    expect(r.external_gateway_info.network_id).to.equal(pub.id);
    expect(r.external_gateway_info.enable_snat).to.equal(true);
    expect(r.external_gateway_info.external_fixed_ips).to.deep.equal([{ subnet_id: pubSub.id, ip_address: '203.0.113.2' }]);
    const plain = (await ok(post('/routers', { router: { name: 'r0' } }), 201)).router;
    expect(plain.external_gateway_info).to.equal(null);
    await fault(put(`/routers/${plain.id}`, { router: { external_gateway_info: { network_id: n.id } } }), 400);

    const intf = await ok(put(`/routers/${r.id}/add_router_interface`, { subnet_id: s.id }));
    expect(intf).to.include({ id: r.id, subnet_id: s.id, network_id: n.id });
    const rp = (await ok(get(`/ports/${intf.port_id}`))).port;
    expect(rp).to.include({ device_owner: 'network:router_interface', device_id: r.id });
    expect(rp.fixed_ips).to.deep.equal([{ subnet_id: s.id, ip_address: '10.30.0.1' }]);
    await fault(put(`/routers/${r.id}/add_router_interface`, { subnet_id: s.id }), 400);
    await fault(del(`/ports/${rp.id}`), 409, 'L3PortInUse');
    await fault(del(`/routers/${r.id}`), 409, 'RouterInUse');

    const vm = await port(n.id, { device_id: 'vm-1', device_owner: 'compute:nova' });
    const fip = (await ok(post('/floatingips', { floatingip: { floating_network_id: pub.id } }), 201)).floatingip;
    expect(fip).to.include({ floating_network_id: pub.id, port_id: null, fixed_ip_address: null, status: 'DOWN' });
    expect(fip.floating_ip_address).to.equal('203.0.113.3');
    const assoc = (await ok(put(`/floatingips/${fip.id}`, { floatingip: { port_id: vm.id } }))).floatingip;
    expect(assoc).to.include({ port_id: vm.id, fixed_ip_address: vm.fixed_ips[0].ip_address, router_id: r.id, status: 'ACTIVE' });
    await fault(post('/floatingips', { floatingip: { floating_network_id: n.id } }), 400);
    await fault(post('/floatingips', { floatingip: { floating_network_id: pub.id, floating_ip_address: '203.0.113.3' } }), 409, 'IpAddressAlreadyAllocated');
    await fault(put(`/routers/${r.id}/remove_router_interface`, { subnet_id: s.id }), 409, 'RouterInterfaceInUseByFloatingIP');
    await fault(put(`/routers/${r.id}`, { router: { external_gateway_info: {} } }), 409, 'RouterExternalGatewayInUseByFloatingIp');
    expect((await ok(post('/routers', { router: { name: 'no-gw', external_gateway_info: {} } }), 201)).router.external_gateway_info).to.equal(null);
    // A port on a subnet the router does not reach cannot get a floating IP.
    const n3 = await network('unrouted');
    await subnet(n3.id, '10.31.0.0/24');
    const lonely = await port(n3.id);
    await fault(put(`/floatingips/${fip.id}`, { floatingip: { port_id: lonely.id } }), 404, 'ExternalGatewayForFloatingIPNotFound');
    // Deleting the port disassociates the floating IP.
    await ok(del(`/ports/${vm.id}`), 204);
    expect((await ok(get(`/floatingips/${fip.id}`))).floatingip).to.include({ port_id: null, fixed_ip_address: null });
    expect((await ok(get(`/floatingips?floating_ip_address=203.0.113.3`))).floatingips).to.have.length(1);

    await fault(del(`/networks/${pub.id}`), 409, 'NetworkInUse');
    // Another project sees the external network, not its subnets.
    expect((await ok(get(`/networks/${pub.id}`, other.token))).network.id).to.equal(pub.id);
    await fault(get(`/subnets/${pubSub.id}`, other.token), 404, 'SubnetNotFound');
    expect((await ok(get(`/subnets?network_id=${pub.id}`, other.token))).subnets).to.deep.equal([]);
    const removed = await ok(put(`/routers/${r.id}/remove_router_interface`, { subnet_id: s.id }));
    expect(removed.port_id).to.equal(rp.id);
    await fault(get(`/ports/${rp.id}`), 404, 'PortNotFound');
    await fault(put(`/routers/${r.id}/remove_router_interface`, { subnet_id: s.id }), 404, 'RouterInterfaceNotFoundForSubnet');
    await ok(del(`/floatingips/${fip.id}`), 204);
    await ok(del(`/routers/${r.id}`), 204);
    await ok(del(`/routers/${plain.id}`), 204);
    for (const x of (await ok(get('/routers?name=no-gw'))).routers) await ok(del(`/routers/${x.id}`), 204);
    await ok(del(`/ports/${lonely.id}`), 204);
    await ok(del(`/networks/${pub.id}`), 204);
    expect((await ok(get(`/ports?network_id=${pub.id}`))).ports).to.deep.equal([]);
    // An external network goes with its unassociated floating IPs (Neutron deletes them with it).
    const pub2 = await network('public-2', { 'router:external': true });
    await subnet(pub2.id, '198.51.100.0/24');
    const f2 = (await ok(post('/floatingips', { floatingip: { floating_network_id: pub2.id } }), 201)).floatingip;
    await ok(del(`/networks/${pub2.id}`), 204);
    await fault(get(`/floatingips/${f2.id}`), 404, 'FloatingIPNotFound');
  });

  it('security groups: the default group and its rules, rule validation, SecurityGroupRuleExists', async () => {
    const defaults = (await ok(get('/security-groups?name=default', other.token))).security_groups;
    expect(defaults).to.have.length(1);
    const def = defaults[0];
    expect(def.project_id).to.equal(other.projectId);
    const shape = def.security_group_rules.map((r: J) => `${r.direction}/${r.ethertype}/${r.remote_group_id === def.id ? 'self' : String(r.remote_group_id)}/${String(r.protocol)}`).sort();
    expect(shape).to.deep.equal(['egress/IPv4/null/null', 'egress/IPv6/null/null', 'ingress/IPv4/self/null', 'ingress/IPv6/self/null']);
    await fault(del(`/security-groups/${def.id}`, other.token), 409, 'SecurityGroupCannotRemoveDefault');
    await fault(post('/security-groups', { security_group: { name: 'default' } }, other.token), 409);

    const g = (await ok(post('/security-groups', { security_group: { name: 'web', description: 'web servers' } }, other.token), 201)).security_group;
    expect(g.security_group_rules.map((r: J) => `${r.direction}/${r.ethertype}`).sort()).to.deep.equal(['egress/IPv4', 'egress/IPv6']);
    const rule = (body: J) => post('/security-group-rules', { security_group_rule: { security_group_id: g.id, direction: 'ingress', ...body } }, other.token);
    const ssh = (await ok(rule({ protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '0.0.0.0/0' }), 201)).security_group_rule;
    expect(ssh).to.include({ protocol: 'tcp', port_range_min: 22, port_range_max: 22, ethertype: 'IPv4', remote_ip_prefix: '0.0.0.0/0', remote_group_id: null, security_group_id: g.id });
    const e = await fault(rule({ protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '0.0.0.0/0' }), 409, 'SecurityGroupRuleExists');
    expect(e.message).to.include(ssh.id);
    await fault(rule({ protocol: 'tcp', port_range_min: 80, port_range_max: 22 }), 400);
    await fault(rule({ protocol: 'tcp', port_range_min: 0, port_range_max: 70000 }), 400);
    await fault(rule({ port_range_min: 80, port_range_max: 80 }), 400);
    await fault(rule({ protocol: 'banana' }), 400);
    await fault(rule({ protocol: 'tcp', ethertype: 'IPv6', remote_ip_prefix: '10.0.0.0/8' }), 400);
    await fault(rule({ protocol: 'tcp', remote_ip_prefix: '10.0.0.0/8', remote_group_id: def.id }), 400);
    await fault(rule({ ethertype: 'IPv5' }), 400);
    const icmp = (await ok(rule({ protocol: 'icmp', port_range_min: 8, port_range_max: 0, remote_group_id: def.id }), 201)).security_group_rule;
    expect(icmp).to.include({ remote_group_id: def.id, port_range_min: 8, port_range_max: 0, remote_ip_prefix: null });
    await fault(rule({ protocol: 'icmp', port_range_min: 300 }), 400);
    const udp = (await ok(rule({ protocol: 17 }), 201)).security_group_rule;
    expect(udp.protocol).to.equal('17');
    await fault(rule({ protocol: 'udp' }), 409, 'SecurityGroupRuleExists');
    await ok(del(`/security-group-rules/${udp.id}`, other.token), 204);
    const v6 = (await ok(rule({ ethertype: 'IPv6', protocol: 'udp', port_range_min: 53, port_range_max: 53, remote_ip_prefix: '2001:db8::/32' }), 201)).security_group_rule;
    expect(v6.ethertype).to.equal('IPv6');
    const shown = (await ok(get(`/security-groups/${g.id}`, other.token))).security_group;
    expect(shown.security_group_rules).to.have.length(5);
    expect((await ok(get(`/security-group-rules?security_group_id=${g.id}&protocol=tcp`, other.token))).security_group_rules.map((r: J) => r.id)).to.deep.equal([ssh.id]);
    await ok(del(`/security-group-rules/${ssh.id}`, other.token), 204);
    await fault(get(`/security-group-rules/${ssh.id}`, other.token), 404, 'SecurityGroupRuleNotFound');
    // A group on a port is in use.
    const n = await network('sg-net', {}, other.token);
    await subnet(n.id, '10.40.0.0/24', {}, other.token);
    const p = await port(n.id, { security_groups: [g.id] }, other.token);
    expect(p.security_groups).to.deep.equal([g.id]);
    await fault(del(`/security-groups/${g.id}`, other.token), 409, 'SecurityGroupInUse');
    await ok(del(`/ports/${p.id}`, other.token), 204);
    await ok(del(`/security-groups/${g.id}`, other.token), 204);
    await ok(del(`/networks/${n.id}`, other.token), 204);
  });

  it('isolates projects: others\' resources are 404, shared networks are visible, admins see all with all_tenants', async () => {
    const mine = await network('admin-private');
    const shared = await network('admin-shared', { shared: true });
    const sharedSub = await subnet(shared.id, '10.50.0.0/24');
    await fault(get(`/networks/${mine.id}`, other.token), 404, 'NetworkNotFound');
    await fault(put(`/networks/${mine.id}`, { network: { name: 'x' } }, other.token), 404);
    await fault(del(`/networks/${mine.id}`, other.token), 404);
    const seen = (await ok(get('/networks', other.token))).networks.map((n: J) => n.id);
    expect(seen).to.include(shared.id);
    expect(seen).to.not.include(mine.id);
    expect((await ok(get(`/subnets/${sharedSub.id}`, other.token))).subnet.id).to.equal(sharedSub.id);
    await fault(post('/networks', { network: { name: 'nope', shared: true } }, other.token), 403);
    await fault(post('/networks', { network: { name: 'nope', 'router:external': true } }, other.token), 403);
    await fault(post('/subnets', { subnet: { network_id: shared.id, cidr: '10.51.0.0/24', ip_version: 4 } }, other.token), 403);
    // A port of the other project on the shared network: theirs, not visible to a third party's lists.
    const theirs = await port(shared.id, {}, other.token);
    expect(theirs.project_id).to.equal(other.projectId);
    const bobNet = await network('bob-net', {}, other.token);
    // The admin sees it by id and, as in Neutron, in lists of every project; project_id narrows them.
    expect((await ok(get(`/networks/${bobNet.id}`))).network.id).to.equal(bobNet.id);
    expect((await ok(get('/networks'))).networks.map((n: J) => n.id)).to.include.members([bobNet.id, mine.id]);
    expect((await ok(get(`/networks?project_id=${other.projectId}`))).networks.map((n: J) => n.id)).to.deep.equal([bobNet.id]);
    const adminRouter = (await ok(post('/routers', { router: { name: 'admin-r' } }), 201)).router;
    await fault(get(`/routers/${adminRouter.id}`, other.token), 404, 'RouterNotFound');
    expect((await ok(get('/routers', other.token))).routers).to.deep.equal([]);
    await ok(del(`/routers/${adminRouter.id}`), 204);
    await ok(del(`/ports/${theirs.id}`, other.token), 204);
    await ok(del(`/networks/${bobNet.id}`, other.token), 204);
    await ok(del(`/networks/${shared.id}`), 204);
    await ok(del(`/networks/${mine.id}`), 204);
  });

  it('quotas: defaults, update by admin, OverQuota, details with usage', async () => {
    const q = (await ok(get(`/quotas/${other.projectId}`, other.token))).quota;
    expect(q).to.include({ network: 100, subnet: 100, port: 500, router: 10, floatingip: 50, security_group: 10, security_group_rule: 100 });
    await fault(put(`/quotas/${other.projectId}`, { quota: { network: 1 } }, other.token), 403);
    await fault(get(`/quotas/${adminProject}`, other.token), 403);
    const up = (await ok(put(`/quotas/${other.projectId}`, { quota: { network: 1, router: 0 } }))).quota;
    expect(up).to.include({ network: 1, router: 0, subnet: 100 });
    const n = await network('only-one', {}, other.token);
    await fault(post('/networks', { network: { name: 'two' } }, other.token), 409, 'OverQuota');
    await fault(post('/routers', { router: { name: 'r' } }, other.token), 409, 'OverQuota');
    const details = (await ok(get(`/quotas/${other.projectId}/details`, other.token))).quota;
    expect(details.network).to.deep.equal({ limit: 1, used: 1, reserved: 0 });
    expect(details.security_group.used).to.equal(1);
    expect((await ok(get(`/quotas/${other.projectId}/default`, other.token))).quota.network).to.equal(100);
    expect((await ok(get('/quotas'))).quotas.map((x: J) => x.project_id)).to.include(other.projectId);
    await ok(del(`/quotas/${other.projectId}`), 204);
    expect((await ok(get(`/quotas/${other.projectId}`, other.token))).quota.network).to.equal(100);
    await ok(del(`/networks/${n.id}`, other.token), 204);
  });

  it('sorts and pages lists with next and previous links', async () => {
    const names = ['pg-c', 'pg-a', 'pg-e', 'pg-b', 'pg-d'];
    for (const name of names) await network(name, {}, other.token);
    const first = await ok(get('/networks?sort_key=name&sort_dir=asc&limit=2', other.token));
    expect(first.networks.map((n: J) => n.name)).to.deep.equal(['pg-a', 'pg-b']);
    const links = first.networks_links as J[];
    const next = links.find((l) => l.rel === 'next')!;
    expect(next.href).to.include('marker=').and.include('limit=2');
    expect(links.find((l) => l.rel === 'previous')!.href).to.include('page_reverse=True');
    const second = await ok(h.request('GET', next.href.replace(h.url, ''), { token: other.token }));
    expect(second.networks.map((n: J) => n.name)).to.deep.equal(['pg-c', 'pg-d']);
    const third = await ok(h.request('GET', (second.networks_links as J[]).find((l) => l.rel === 'next')!.href.replace(h.url, ''), { token: other.token }));
    expect(third.networks.map((n: J) => n.name)).to.deep.equal(['pg-e']);
    expect((third.networks_links as J[]).map((l) => l.rel)).to.deep.equal(['previous']);
    const back = await ok(h.request('GET', (third.networks_links as J[])[0]!.href.replace(h.url, ''), { token: other.token }));
    expect(back.networks.map((n: J) => n.name)).to.deep.equal(['pg-c', 'pg-d']);
    const desc = await ok(get('/networks?sort_key=name&sort_dir=desc', other.token));
    expect(desc.networks.map((n: J) => n.name)).to.deep.equal(['pg-e', 'pg-d', 'pg-c', 'pg-b', 'pg-a']);
    expect(desc.networks_links).to.equal(undefined);
    await fault(get('/networks?sort_key=color', other.token), 400);
    await fault(get('/networks?limit=-1', other.token), 400);
    for (const n of desc.networks) await ok(del(`/networks/${n.id}`, other.token), 204);
  });
});
