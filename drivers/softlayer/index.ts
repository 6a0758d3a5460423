/**
 * The SoftLayer (IBM Cloud classic) backend: Nova, Glance, Cinder and Neutron
 * over the SoftLayer REST API, with the caller's own SoftLayer credential
 * (sealed in the token by the `softlayer` auth plugin, drivers/softlayer/auth.ts).
 * Identity stays the gateway's Keystone.
 */
import type { BackendModule, DriverSet } from '../types.js';
import { CircuitBreaker } from '../../src/breaker.js';
import { SoftLayerClient } from './client.js';
import { SoftLayerCloud } from './cloud.js';
import { SoftLayerCompute } from './compute.js';
import { SoftLayerImage } from './image.js';
import { SoftLayerVolume } from './volume.js';
import { SoftLayerNetwork } from './network.js';

const softlayer: BackendModule = {
  name: 'softlayer',
  description: 'SoftLayer (IBM Cloud classic) over its REST API',
  notes: [
    'Identity is the gateway\'s Keystone; the `softlayer` auth plugin turns a SoftLayer username + API key into a token (project `softlayer-<account id>`).',
    'Compute: Nova\'s security group proxy (/os-security-groups, its rules and default rules) is 501: use Neutron security groups (a server\'s groups, addSecurityGroup and removeSecurityGroup are served). Suspend/resume, shelve, rescue, lock, migrate/evacuate, resize and confirm/revert (SoftLayer upgrades are billing orders), console output and remote consoles, change password, server metadata (SoftLayer has tags only), server groups (placement groups not mapped), floating IPs, hypervisors, hosts, aggregates, services, cells, usage and the deprecated nova-network proxies: no SoftLayer counterpart mapped, 501.',
    'Compute: flavors are a configured list filtered by getCreateObjectOptions; creating, deleting or changing flavors, their extra specs and access is not possible (SoftLayer sizes are fixed products), 501. Quotas are read-only (-1: SoftLayer sets no per-project quota sets).',
    'Image: uploads, downloads, staging, imports, locations, tasks, cache, stores, deactivate/reactivate, tags and metadefs have no SoftLayer template counterpart, 501 (images come from createImage, i.e. a SoftLayer capture; SoftLayer\'s OS reference codes are listed as public read-only images, which servers are ordered with). Member status changes are 501: SoftLayer shares without acceptance.',
    'Volume: ordering, cancelling, extending, snapshots, backups, transfers, groups, QoS and type changes go through SoftLayer orders and billing items; not served, 501. Cinder\'s own attach/detach actions and attachments API are 501: attach through Nova (os-volume_attachments), which authorizes the guest on the LUN. Volumes are listed, shown and described (notes); SoftLayer names them, so no rename.',
    'Network: creating or changing VLANs and subnets is a SoftLayer order; routers, QoS, trunks, VPN and the other Neutron extensions are not mapped, 501 (the extension list names what is served). SoftLayer has no floating IPs: the list is empty, creating one is 501. Networks and subnets are read-only, ports too except their security_groups (SoftLayer bindings); security groups and rules are SoftLayer\'s own (no rule update: SoftLayer edits rules in place, Neutron does not; no tags; no default-rule templates).',
    'Placement: nothing to place, 501 (version document only).',
  ],
  classes: {
    compute: SoftLayerCompute,
    image: SoftLayerImage,
    volume: SoftLayerVolume,
    network: SoftLayerNetwork,
  },
  async create({ config, logger }) {
    const sl = config.softlayer;
    const log = logger.child({ backend: 'softlayer' });
    const breaker = new CircuitBreaker(`The SoftLayer API of region ${config.region}`, { failures: config.breaker.failures, openMs: config.breaker.openSeconds * 1000 }, log);
    const client = new SoftLayerClient({ endpoint: sl.endpoint, timeoutMs: sl.timeoutMs, retries: sl.retries, logger: log, breaker });
    const cloud = new SoftLayerCloud(client, sl);
    const drivers: Partial<DriverSet> = {
      compute: new SoftLayerCompute(cloud),
      image: new SoftLayerImage(cloud),
      volume: new SoftLayerVolume(cloud),
      network: new SoftLayerNetwork(cloud),
    };
    return { drivers, async close() {} };
  },
};

export default softlayer;
