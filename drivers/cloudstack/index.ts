/**
 * The Apache CloudStack backend: Nova, Glance, Cinder and Neutron over the
 * CloudStack query API, signed with the caller's own API key and secret key
 * (sealed in the token by the `cloudstack` auth plugin, drivers/cloudstack/auth.ts).
 * Identity stays the gateway's Keystone.
 */
import type { BackendModule, DriverSet } from '../types.js';
import { CircuitBreaker } from '../../src/breaker.js';
import { CloudStackClient } from './client.js';
import { CloudStackCloud } from './cloud.js';
import { CloudStackCompute } from './compute.js';
import { CloudStackImage } from './image.js';
import { CloudStackVolume } from './volume.js';
import { CloudStackNetwork } from './network.js';

const cloudstack: BackendModule = {
  name: 'cloudstack',
  description: 'Apache CloudStack over its signed query API (async jobs read lazily)',
  notes: [
    'Identity is the gateway\'s Keystone; the `cloudstack` auth plugin turns a CloudStack API key (user name) + secret key (password) into a token (project `cloudstack-<account>`).',
    'Compute: pause/unpause, suspend/resume, shelve, rescue, lock, migrate/evacuate, resize and confirm/revert (CloudStack scales with scaleVirtualMachine, not mapped), server tags (metadata are served: resource tags), console output and spice/serial/rdp/mks consoles (noVNC consoles are served: createConsoleEndpoint), the old os-consoles API, change password, soft-affinity server groups and group rules (affinity groups are host affinity or anti-affinity), interfaces attach/detach (listed and shown: the NICs), hypervisors, hosts, aggregates, services, cells, usage, the deprecated nova-network proxies (floating IPs, security groups: use Neutron) and changes through Nova\'s volume proxy (it is read-only): not mapped, 501. Reboot is CloudStack\'s one reboot for SOFT and HARD; a server with a CloudStack job in flight cannot be deleted until the job is done (409); createImage is createTemplate from the root volume of a stopped server, and add/removeSecurityGroup is updateVirtualMachine securitygroupids on a stopped server (409 while it runs).',
    'Compute: flavors are CloudStack service offerings with a fixed size (custom-size offerings need per-deploy values a flavor cannot carry); creating, deleting or changing flavors and their extra specs and access is 501 (offerings are an administrator\'s). Limits and quota sets come from listResourceLimits, read-only: updating or deleting quota sets is 501 (updateResourceLimit is a domain admin\'s).',
    'Image: templates and ISOs (disk_format iso) are listed, shown, renamed and described (updateTemplate/updateIso), deleted, and created by registerTemplate/registerIso from the image property `cloudstack_url`; servers boot from templates only: CloudStack takes the URL at creation, which Glance\'s create-then-upload or create-then-import (web-download) cannot express, so upload, import, download, staging, tags, members, tasks, cache, stores and metadefs are 501.',
    'Volume: data volumes are created (disk offerings are volume types), deleted, snapshotted (snapshots list/show/create/delete); attach and detach through Nova (os-volume_attachments, async jobs shown as attaching/detaching); extend is resizeVolume (a fixed-size offering moves to the custom-size one). Cinder\'s own attach/detach actions and attachments API, volume update and metadata, backups, transfers, groups, QoS, manage/unmanage and type changes: 501.',
    'Network: guest networks and their one subnet are read-only (CloudStack makes networks from network offerings, which Neutron cannot name), ports are the VMs\' NICs (read-only), each zone\'s public IP space is an external network `public-<zone>`; security groups and ingress/egress rules and floating IPs (public IPs with static NAT) are served. Routers, port forwarding, QoS, trunks, VPN, subnet pools, security group update and rule tags are 501.',
    'Placement: nothing to place, 501 (version document only).',
  ],
  classes: {
    compute: CloudStackCompute,
    image: CloudStackImage,
    volume: CloudStackVolume,
    network: CloudStackNetwork,
  },
  async create({ config, logger }) {
    const cs = config.cloudstack;
    const log = logger.child({ backend: 'cloudstack' });
    const breaker = new CircuitBreaker(`The CloudStack API of region ${config.region}`, { failures: config.breaker.failures, openMs: config.breaker.openSeconds * 1000 }, log);
    const client = new CloudStackClient({
      endpoint: cs.endpoint, timeoutMs: cs.timeoutMs, retries: cs.retries, signatureTtlSeconds: cs.signatureTtlSeconds, logger: log, breaker,
    });
    const cloud = new CloudStackCloud(client, cs);
    const drivers: Partial<DriverSet> = {
      compute: new CloudStackCompute(cloud),
      image: new CloudStackImage(cloud),
      volume: new CloudStackVolume(cloud),
      network: new CloudStackNetwork(cloud),
    };
    return { drivers, async close() {} };
  },
};

export default cloudstack;
