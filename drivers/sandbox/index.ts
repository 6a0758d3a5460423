/**
 * The sandbox backend: an OpenStack-compatible cloud embedded in the gateway,
 * the default for `make run` and for the client tests. Its services share one
 * store and ask each other through the sides wired here (cloud.ts).
 */
import { imageDir } from '../../src/config.js';
import type { BackendModule, DriverSet } from '../types.js';
import { SandboxCloud } from './cloud.js';
import { SandboxStore } from './store.js';
import { SandboxCompute, computeSide } from './compute.js';
import { SandboxImage, imageSide } from './image.js';
import { SandboxVolume, volumeSide } from './volume.js';
import { SandboxNetwork, networkSide } from './network.js';

const sandbox: BackendModule = {
  name: 'sandbox',
  description: 'Embedded cloud for local use and tests',
  classes: {
    compute: SandboxCompute,
    image: SandboxImage,
    volume: SandboxVolume,
    network: SandboxNetwork,
  },
  async create({ config, store }) {
    const cloud = new SandboxCloud(new SandboxStore(store), {
      buildDelayMs: config.sandbox.buildDelayMs,
      imageDir: imageDir(config),
      maxImageBytes: config.sandbox.maxImageBytes,
    });
    cloud.network = networkSide(cloud);
    cloud.image = imageSide(cloud);
    cloud.volume = volumeSide(cloud);
    cloud.compute = computeSide(cloud);
    const drivers: Partial<DriverSet> = {
      compute: new SandboxCompute(cloud), image: new SandboxImage(cloud), volume: new SandboxVolume(cloud), network: new SandboxNetwork(cloud),
    };
    return {
      drivers,
      async close() {},
    };
  },
};

export default sandbox;
