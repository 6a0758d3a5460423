/**
 * The SoftLayer (IBM Cloud classic) backend: Nova, Glance, Cinder and Neutron
 * over the SoftLayer REST API, with the caller's own SoftLayer credential
 * (sealed in the token by the `softlayer` auth plugin, drivers/softlayer/auth.ts).
 * Identity stays the gateway's Keystone.
 */
import type { BackendModule, DriverSet } from '../types.js';
import { SoftLayerClient } from './client.js';
import { SoftLayerCloud } from './cloud.js';
import { SoftLayerCompute } from './compute.js';
import { SoftLayerImage } from './image.js';
import { SoftLayerVolume } from './volume.js';
import { SoftLayerNetwork } from './network.js';

const softlayer: BackendModule = {
  name: 'softlayer',
  description: 'SoftLayer (IBM Cloud classic) over its REST API',
  classes: {
    compute: SoftLayerCompute,
    image: SoftLayerImage,
    volume: SoftLayerVolume,
    network: SoftLayerNetwork,
  },
  async create({ config, logger }) {
    const sl = config.softlayer;
    const client = new SoftLayerClient({ endpoint: sl.endpoint, timeoutMs: sl.timeoutMs, retries: sl.retries, logger: logger.child({ backend: 'softlayer' }) });
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
