/**
 * The OpenStack passthrough backend: a region whose Nova, Glance, Cinder,
 * Neutron and Placement are those of an upstream OpenStack, found in its
 * Keystone's catalog. Every operation is forwarded (drivers/openstack/cloud.ts),
 * so what the region serves is what the upstream serves.
 */
import { ConfigError } from '../../src/config.js';
import type { BackendModule, DriverSet } from '../types.js';
import { OpenStackCloud } from './cloud.js';
import { OpenStackCompute } from './compute.js';
import { OpenStackImage } from './image.js';
import { OpenStackVolume } from './volume.js';
import { OpenStackNetwork } from './network.js';
import { OpenStackPlacement } from './placement.js';

const classes = {
  compute: OpenStackCompute,
  image: OpenStackImage,
  volume: OpenStackVolume,
  network: OpenStackNetwork,
  placement: OpenStackPlacement,
} as const;

const openstack: BackendModule = {
  name: 'openstack',
  description: 'An upstream OpenStack, every call forwarded',
  notes: [
    'Every operation of the services the region names (`openstack.services`) is forwarded to the upstream endpoint in the upstream catalog: the column shows the spec, what is served is what the upstream serves (its 404s, 501s and faults come back unchanged).',
    'Identity is the gateway\'s Keystone (one for all regions); with the `upstream-keystone` auth plugin its users log in with their upstream password, and with identity.upstreamKeystone.forwardAdmin their user, project and role operations go to the upstream Keystone.',
  ],
  classes,
  async create({ config, logger }) {
    const os = config.openstack;
    const authUrl = os.authUrl ?? config.identity.upstreamKeystone.authUrl;
    if (!authUrl) throw new ConfigError(`region ${config.region}: the openstack backend needs openstack.authUrl`);
    let servicePassword: string | undefined;
    if (os.serviceAccount) {
      const env = os.serviceAccount.passwordEnv;
      servicePassword = process.env[env];
      if (!servicePassword) throw new ConfigError(`region ${config.region}: openstack.serviceAccount.passwordEnv names ${env}, which is not set`);
    }
    const cloud = new OpenStackCloud({
      config: os, authUrl, servicePassword, region: config.region, logger: logger.child({ backend: 'openstack' }),
      breaker: { failures: config.breaker.failures, openMs: config.breaker.openSeconds * 1000 },
    });
    const drivers: Partial<DriverSet> = {};
    for (const s of os.services) (drivers as Record<string, unknown>)[s] = new classes[s](cloud);
    return { drivers, async close() {} };
  },
};

export default openstack;
