/**
 * Policy, once for every service and backend: which operations need no token,
 * which need the admin role (OpenStack's default policies: managing flavors,
 * quotas, hosts, types, all-tenants listings), and that a project in the URL
 * is the caller's. Keystone's own finer rules (self-service) live with it in
 * src/identity/keystone.ts.
 */
import type { AuthContext, OperationRow } from '../generated/common.js';
import { Fault } from './faults.js';

/** Operations anyone may call: version documents and asking for a token. */
export function isPublic(row: OperationRow): boolean {
  return row.servedBy === 'gateway' || row.id === 'identity.auth.tokens.issue';
}

/** Operation ids that need the admin role, by service (regular expressions over ids). */
const ADMIN_ONLY: RegExp[] = [
  // Nova: flavors and their access and extra specs, quotas, hosts, hypervisors,
  // services, aggregates, cells, migrations, server external events, admin actions.
  /^compute\.flavors\.(create|delete|update|extra_specs\.(create|update|delete)|action\.)/,
  /^compute\.quota_sets\.(update|delete)$/, /^compute\.quota_class_sets\.update$/,
  /^compute\.(hypervisors|services|aggregates|hosts|cells|agents|migrations|server_external_events|instance_usage_audit_log|assisted_volume_snapshots|cloudpipe|fping|floating_ips_bulk|floating_ip_dns|networks|security_group_default_rules|baremetal_nodes)\./,
  /^compute\.simple_tenant_usage\.list$/,
  /^compute\.servers\.action\.(migrate|migrate_live|evacuate|reset_state|inject_network_info|reset_network)$/,
  /^compute\.servers\.migrations\.(delete|action\.)/,
  // Cinder: volume types and their specs and access, quotas, services, hosts, pools, QoS, manage.
  /^volume\.types\.(create|update|delete|extra_specs\.(create|update|delete)|encryption\.|action\.)/,
  /^volume\.(quota_sets\.(update|delete)|quota_class_sets\.update)$/,
  /^volume\.(services|hosts|qos_specs|scheduler_stats|manageable_volumes|manageable_snapshots|volume_manage|snapshot_manage|clusters|workers|default_types|capabilities|group_types)\./,
  /^volume\.volumes\.action\.(reset_status|force_delete|force_detach|migrate_volume|migrate_volume_completion|unmanage)$/,
  /^volume\.snapshots\.action\.(reset_status|force_delete|unmanage)$/,
  // Placement is for services and admins.
  /^placement\./,
  // Neutron: agents, network segment ranges, service providers' flavors.
  /^network\.(agents|network_segment_ranges|flavors|service_profiles|metering)\./,
  // Glance: the cache and metadata definitions' write side.
  /^image\.cache\./, /^image\.metadefs\.namespaces\.(create|update|delete)/,
];

export function needsAdmin(row: OperationRow): boolean {
  const id = row.headOf ?? row.id;
  return ADMIN_ONLY.some((re) => re.test(id));
}

/** Query flags that ask for every project's resources. */
const ALL_TENANTS = ['all_tenants', 'all_projects'];

/**
 * Lists that ignore all_tenants from a non-admin rather than refusing it
 * (nova/api/openstack/compute/security_groups.py index reads it only for admins).
 */
const ALL_TENANTS_IGNORED = new Set(['compute.security_groups.list']);

function truthy(v: unknown): boolean {
  if (v === undefined) return false;
  const s = String(Array.isArray(v) ? v[0] : v).toLowerCase();
  return s === '' || !['0', 'false', 'f', 'no', 'off'].includes(s);
}

/**
 * Neutron enforces policy on a list by leaving out what the caller may not see,
 * so a member listing an admin-only collection (agents, …) gets it empty, not a
 * 403. The collection key is the path's last segment (`network-segment-ranges`
 * → `network_segment_ranges`), as Neutron names its collections.
 */
function filteredToEmpty(row: OperationRow): { collection: string } | undefined {
  if (!row.id.startsWith('network.') || row.method !== 'GET' || !row.id.endsWith('.list')) return undefined;
  const last = row.path.split('/').pop() ?? '';
  if (!last || last.startsWith('{')) return undefined;
  return { collection: last.replace(/-/g, '_') };
}

/**
 * Throws 403 when the caller may not call this operation; answers an empty
 * collection where the service filters lists by policy instead (Neutron).
 * `query` is the raw query; `urlProjectId` the project named in the URL.
 */
export function checkPolicy(row: OperationRow, auth: AuthContext, query: Record<string, unknown>, urlProjectId?: string): { emptyList: string } | undefined {
  const rule = row.headOf ?? row.id;
  if (needsAdmin(row) && !auth.isAdmin) {
    const filtered = filteredToEmpty(row);
    if (filtered) return { emptyList: filtered.collection };
    throw Fault.forbidden(`Policy doesn't allow ${rule} to be performed.`);
  }
  if (!auth.isAdmin && !ALL_TENANTS_IGNORED.has(rule) && ALL_TENANTS.some((k) => truthy(query[k]))) {
    throw Fault.forbidden(`Policy doesn't allow ${rule} with all_tenants to be performed.`);
  }
  if (urlProjectId && urlProjectId !== auth.projectId && !auth.isAdmin) {
    throw Fault.forbidden(`Project ${urlProjectId} in the URL is not the project of the token.`);
  }
  return undefined;
}
