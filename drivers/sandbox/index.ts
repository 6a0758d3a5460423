/**
 * The sandbox backend: an OpenStack-compatible cloud embedded in the gateway,
 * the default for `make run` and for the client tests. Its services share one
 * store and ask each other through the sides wired here (cloud.ts).
 */
import { join } from 'node:path';
import { Fault } from '../../src/faults.js';
import type { BackendModule, DriverSet } from '../types.js';
import { SandboxCloud } from './cloud.js';
import { SandboxStore } from './store.js';
import { SandboxCompute, computeSide } from './compute.js';
// wire: imports

/** A side whose service is not written yet: every call is a 501. */
function unwritten<T extends object>(name: string): T {
  return new Proxy({} as T, { get: () => () => { throw Fault.notImplemented(`The sandbox ${name} service does not offer this yet.`); } });
}

const sandbox: BackendModule = {
  name: 'sandbox',
  description: 'Embedded cloud for local use and tests',
  classes: {
    compute: SandboxCompute,
    // wire: classes
  },
  async create({ config, store }) {
    const cloud = new SandboxCloud(new SandboxStore(store), {
      buildDelayMs: config.sandbox.buildDelayMs,
      imageDir: join(config.dataDir, 'images'),
      maxImageBytes: config.sandbox.maxImageBytes,
    });
    cloud.network = unwritten('network');
    cloud.image = unwritten('image');
    cloud.volume = unwritten('volume');
    cloud.compute = computeSide(cloud);
    const drivers: Partial<DriverSet> = { compute: new SandboxCompute(cloud) };
    // wire: drivers
    return {
      drivers,
      async close() {},
    };
  },
};

export default sandbox;
