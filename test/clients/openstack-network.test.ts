/**
 * The real `openstack` CLI (Debian python3-openstackclient) against the
 * sandbox's Neutron, with every response checked against the spec (contract
 * mode: a violation is a 500 and fails the command).
 */
import { expect } from 'chai';
import { startGateway, type Harness } from '../helpers/gateway.js';
import { openstackCli, type OpenstackCli } from '../helpers/openstack-cli.js';

describe('openstack CLI: network', function () {
  this.timeout(300_000);
  let h: Harness;

  let os: OpenstackCli;

  before(async () => {
    h = await startGateway({ contract: true });
    os = openstackCli(h);
  });
  after(() => h.close());

  it('builds a topology (networks, subnets, router, security group, port, floating IP), shows it, and tears it down', async () => {
    const projectId = h.gateway.identity.projectByName('default', 'admin')!.id;

    const pub = await os(['network', 'create', '--external', 'public', '-f', 'json']);
    expect(pub).to.include({ name: 'public', 'router:external': true, status: 'ACTIVE', admin_state_up: true, shared: false, project_id: projectId });
    const pubSub = await os(['subnet', 'create', '--network', 'public', '--subnet-range', '203.0.113.0/24', '--no-dhcp', 'public-sub', '-f', 'json']);
    expect(pubSub).to.include({ cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1', ip_version: 4, enable_dhcp: false, network_id: pub.id });

    const net = await os(['network', 'create', 'private', '-f', 'json']);
    expect(net).to.include({ name: 'private', 'router:external': false, mtu: 1500, status: 'ACTIVE' });
    const sub = await os(['subnet', 'create', '--network', 'private', '--subnet-range', '10.0.0.0/24', '--dns-nameserver', '8.8.8.8', 'private-sub', '-f', 'json']);
    expect(sub).to.include({ cidr: '10.0.0.0/24', gateway_ip: '10.0.0.1', network_id: net.id });
    expect(sub.allocation_pools).to.deep.equal([{ start: '10.0.0.2', end: '10.0.0.254' }]);
    expect(sub.dns_nameservers).to.deep.equal(['8.8.8.8']);

    const router = await os(['router', 'create', 'r1', '-f', 'json']);
    expect(router).to.include({ name: 'r1', status: 'ACTIVE', admin_state_up: true });
    await os(['router', 'set', '--external-gateway', 'public', 'r1']);
    await os(['router', 'add', 'subnet', 'r1', 'private-sub']);
    const shownRouter = await os(['router', 'show', 'r1', '-f', 'json']);
    expect(shownRouter.external_gateway_info.network_id).to.equal(pub.id);
    expect(shownRouter.external_gateway_info.external_fixed_ips[0].subnet_id).to.equal(pubSub.id);
    const routerPorts = await os(['port', 'list', '--router', 'r1', '-f', 'json']);
    expect(routerPorts.map((p: { 'Fixed IP Addresses': unknown }) => JSON.stringify(p['Fixed IP Addresses']))).to.satisfy((xs: string[]) => xs.some((x) => x.includes('10.0.0.1')));

    const sg = await os(['security', 'group', 'create', '--description', 'ssh in', 'ssh', '-f', 'json']);
    expect(sg).to.include({ name: 'ssh', description: 'ssh in' });
    const rule = await os(['security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '22', '--remote-ip', '0.0.0.0/0', 'ssh', '-f', 'json']);
    expect(rule).to.include({ protocol: 'tcp', port_range_min: 22, port_range_max: 22, direction: 'ingress', ether_type: 'IPv4', remote_ip_prefix: '0.0.0.0/0', security_group_id: sg.id });
    const rules = await os(['security', 'group', 'rule', 'list', 'ssh', '-f', 'json']);
    expect(rules).to.have.length(3);

    const port = await os(['port', 'create', '--network', 'private', '--security-group', 'ssh', 'p1', '-f', 'json']);
    expect(port).to.include({ name: 'p1', network_id: net.id, status: 'DOWN', admin_state_up: true });
    expect(port.mac_address).to.match(/^fa:16:3e(:[0-9a-f]{2}){3}$/);
    expect(port.fixed_ips).to.deep.equal([{ subnet_id: sub.id, ip_address: '10.0.0.2' }]);
    expect(port.security_group_ids).to.deep.equal([sg.id]);

    const fip = await os(['floating', 'ip', 'create', 'public', '-f', 'json']);
    expect(fip).to.include({ floating_network_id: pub.id, port_id: null, fixed_ip_address: null });
    expect(fip.floating_ip_address).to.match(/^203\.0\.113\.\d+$/);
    await os(['floating', 'ip', 'set', '--port', 'p1', fip.floating_ip_address]);
    const fipShown = await os(['floating', 'ip', 'show', fip.id, '-f', 'json']);
    expect(fipShown).to.include({ port_id: port.id, fixed_ip_address: '10.0.0.2', router_id: router.id, status: 'ACTIVE' });

    const list = await os(['network', 'list', '-f', 'json']);
    const row = list.find((n: { Name: string }) => n.Name === 'private');
    expect(row.ID).to.equal(net.id);
    expect(row.Subnets).to.deep.equal([sub.id]);
    expect(list.map((n: { Name: string }) => n.Name).sort()).to.deep.equal(['private', 'public']);
    const ext = await os(['network', 'list', '--external', '-f', 'json']);
    expect(ext.map((n: { Name: string }) => n.Name)).to.deep.equal(['public']);
    const shown = await os(['network', 'show', 'private', '-f', 'json']);
    expect(shown.id).to.equal(net.id);
    expect(shown.name).to.equal('private');
    expect(shown.status).to.equal('ACTIVE');
    expect(shown.admin_state_up).to.equal(true);
    expect(shown.shared).to.equal(false);
    expect(shown['router:external']).to.equal(false);
    expect(shown.mtu).to.equal(1500);
    expect(shown.subnets).to.deep.equal([sub.id]);
    expect(shown.project_id).to.equal(projectId);
    expect(shown.port_security_enabled).to.equal(true);
    expect(shown.revision_number).to.be.a('number');
    expect(shown.created_at).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(shown.updated_at).to.match(/Z$/);

    // Still in use: the CLI reports Neutron's 409s.
    await os(['network', 'delete', 'private']).then(() => { throw new Error('network delete should fail'); }, (e: Error) => expect(e.message).to.match(/in use|ports still/i));

    // Tear down in order.
    await os(['floating', 'ip', 'unset', '--port', fip.id]);
    await os(['floating', 'ip', 'delete', fip.id]);
    await os(['port', 'delete', 'p1']);
    await os(['router', 'remove', 'subnet', 'r1', 'private-sub']);
    await os(['router', 'unset', '--external-gateway', 'r1']);
    expect((await os(['router', 'show', 'r1', '-f', 'json'])).external_gateway_info).to.satisfy((x: unknown) => x === null || x === '' || (typeof x === 'object' && Object.keys(x as object).length === 0));
    await os(['router', 'delete', 'r1']);
    await os(['security', 'group', 'delete', 'ssh']);
    await os(['subnet', 'delete', 'private-sub']);
    await os(['network', 'delete', 'private']);
    await os(['subnet', 'delete', 'public-sub']);
    await os(['network', 'delete', 'public']);

    expect(await os(['network', 'list', '-f', 'json'])).to.deep.equal([]);
    expect(await os(['subnet', 'list', '-f', 'json'])).to.deep.equal([]);
    expect(await os(['router', 'list', '-f', 'json'])).to.deep.equal([]);
    expect(await os(['floating', 'ip', 'list', '-f', 'json'])).to.deep.equal([]);
    expect(await os(['port', 'list', '-f', 'json'])).to.deep.equal([]);
    expect((await os(['security', 'group', 'list', '-f', 'json'])).map((g: { Name: string }) => g.Name)).to.deep.equal(['default']);
  });

  it('sets and lists network quotas', async () => {
    const projectId = h.gateway.identity.projectByName('default', 'admin')!.id;
    await os(['quota', 'set', '--networks', '7', '--routers', '3', projectId]);
    const rows = await os(['quota', 'list', '--network', '-f', 'json']);
    const row = rows.find((r: { 'Project ID': string }) => r['Project ID'] === projectId);
    expect(row).to.include({ Networks: 7, Routers: 3, Subnets: 100, Ports: 500, 'Floating IPs': 50, 'Security Groups': 10, 'Security Group Rules': 100 });
  });
});
