/** codegen/naming: stable ids and method names from paths. */
import { expect } from 'chai';
import { deriveActionName, deriveName, normalizeAction, singular } from '../../codegen/naming.js';

describe('naming', () => {
  const plain: [string, string, { id: string; method: string }][] = [
    ['GET', '/v2.1/servers/{id}', { id: 'servers.show', method: 'showServer' }],
    ['GET', '/v2.1/servers', { id: 'servers.list', method: 'listServers' }],
    ['POST', '/v2.1/servers', { id: 'servers.create', method: 'createServer' }],
    ['GET', '/v2.1/servers/detail', { id: 'servers.detail.list', method: 'listServersDetail' }],
    ['GET', '/v2.1/flavors/{flavor_id}/os-extra_specs', { id: 'flavors.extra_specs.list', method: 'listFlavorExtraSpecs' }],
    ['DELETE', '/v2.1/servers/{server_id}/tags', { id: 'servers.tags.delete_all', method: 'deleteAllServerTags' }],
    ['PUT', '/v2.1/servers/{server_id}/metadata', { id: 'servers.metadata.replace', method: 'replaceServerMetadata' }],
    ['GET', '/v2.0/security-groups/{id}', { id: 'security_groups.show', method: 'showSecurityGroup' }],
    ['GET', '/v3/OS-FEDERATION/identity_providers', { id: 'federation.identity_providers.list', method: 'listFederationIdentityProviders' }],
    ['GET', '/v2/images/{image_id}/file', { id: 'images.file.list', method: 'listImageFile' }],
    ['GET', '/', { id: 'versions.list', method: 'listVersions' }],
    ['GET', '/v3', { id: 'version.show', method: 'showCurrentVersion' }],
    ['GET', '/v2.1/', { id: 'version.show', method: 'showCurrentVersion' }],
    ['HEAD', '/v3/projects/{project_id}', { id: 'projects.check', method: 'checkProject' }],
    ['GET', '/v2.1/os-floating-ip-dns', { id: 'floating_ip_dns.list', method: 'listFloatingIpDns' }],
  ];
  for (const [method, path, want] of plain) {
    it(`${method} ${path} → ${want.id} / ${want.method}`, () => {
      expect(deriveName(path, method.toLowerCase())).to.deep.equal(want);
    });
  }

  it('PUT beside PATCH on an item is Keystone\'s create-with-id, named put', () => {
    expect(deriveName('/v3/regions/{region_id}', 'put', { hasPatchTwin: true })).to.deep.equal({ id: 'regions.put', method: 'putRegion' });
    expect(deriveName('/v3/regions/{region_id}', 'patch')).to.deep.equal({ id: 'regions.update', method: 'updateRegion' });
  });

  const actions: [string, string, { id: string; method: string }][] = [
    ['/v2.1/servers/{id}/action', 'reboot', { id: 'servers.action.reboot', method: 'rebootServer' }],
    ['/v2.1/servers/{id}/action', 'resize', { id: 'servers.action.resize', method: 'resizeServer' }],
    ['/v2.1/servers/{id}/action', 'os-stop', { id: 'servers.action.stop', method: 'stopServer' }],
    ['/v2.1/servers/{id}/action', 'os-getVNCConsole', { id: 'servers.action.get_vnc_console', method: 'getVncConsoleServer' }],
    ['/v2.1/servers/{id}/action', 'createImage', { id: 'servers.action.create_image', method: 'createImageServer' }],
    ['/v3/volumes/{id}/action', 'os-extend', { id: 'volumes.action.extend', method: 'extendVolume' }],
    ['/v3/groups/action', 'create-from-src', { id: 'groups.collection_action.create_from_src', method: 'createFromSrcGroups' }],
  ];
  for (const [path, action, want] of actions) {
    it(`POST ${path} {"${action}"} → ${want.id} / ${want.method}`, () => {
      expect(deriveActionName(path, action)).to.deep.equal(want);
    });
  }

  it('singular and action normalization', () => {
    expect(['servers', 'policies', 'extra_specs', 'metadata', 'addresses', 'ips', 'availability_zones', 'access'].map(singular))
      .to.deep.equal(['server', 'policy', 'extra_spec', 'metadata', 'address', 'ip', 'availability_zone', 'access']);
    expect(['os-getSPICEConsole', 'addFloatingIp', 'os-set_bootable', 'trigger_crash_dump'].map(normalizeAction))
      .to.deep.equal(['get_spice_console', 'add_floating_ip', 'set_bootable', 'trigger_crash_dump']);
  });
});
