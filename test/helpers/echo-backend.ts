/**
 * A test backend whose drivers answer with what the dispatcher handed them,
 * so tests can see validation, coercion, microversions and action dispatch
 * from outside, over HTTP.
 */
import { Reply } from '../../generated/common.js';
import type {
  ComputeDriver, ComputeRequest, NetworkDriver, NetworkRequest, VolumeDriver, VolumeRequest,
} from '../../generated/index.js';
import type { Backend, BackendModule } from '../../drivers/types.js';

export interface Seen {
  method: string;
  path: unknown;
  query: unknown;
  body: unknown;
  microversion: string | null;
  urlProjectId?: string;
  endpoint: string;
  /** Whether the request's abort signal had fired when the driver answered. */
  aborted: boolean;
}

export const seen: Seen[] = [];

function record(method: string, req: { path: unknown; query: unknown; body: unknown; context: { microversion: string | null; urlProjectId?: string; endpoint: string; signal: AbortSignal } }): void {
  seen.push({ method, path: req.path, query: req.query, body: req.body, microversion: req.context.microversion, urlProjectId: req.context.urlProjectId, endpoint: req.context.endpoint, aborted: req.context.signal.aborted });
}

// The echo answers are not shaped like Nova's; contract mode stays off for this backend.
type Loose = never;

export class EchoCompute implements ComputeDriver {
  async createServer(req: ComputeRequest<'createServer'>) {
    // A backend call takes a moment: the signal must still be live after the body was read.
    await new Promise((resolve) => setTimeout(resolve, 20));
    record('createServer', req);
    return new Reply({ server: { id: 'echo-1' } } as Loose, undefined, { Location: `${req.context.endpoint}/v2.1/servers/echo-1` });
  }
  async listServers(req: ComputeRequest<'listServers'>) {
    record('listServers', req);
    return { servers: [] } as Loose;
  }
  async showServer(req: ComputeRequest<'showServer'>) {
    record('showServer', req);
    return { server: { id: req.path.id } } as Loose;
  }
  async rebootServer(req: ComputeRequest<'rebootServer'>) {
    record('rebootServer', req);
  }
  async getVncConsoleServer(req: ComputeRequest<'getVncConsoleServer'>) {
    record('getVncConsoleServer', req);
    return { console: { type: 'novnc' as const, url: 'http://console' } };
  }
  async createKeypair(req: ComputeRequest<'createKeypair'>) {
    record('createKeypair', req);
    return { keypair: { name: 'k' } } as Loose;
  }
  async deleteServer(req: ComputeRequest<'deleteServer'>) {
    record('deleteServer', req);
    return new Reply(undefined, 409);
  }
}

export class EchoVolume implements VolumeDriver {
  async listVolumes(req: VolumeRequest<'listVolumes'>) {
    record('listVolumes', req);
    return { volumes: [] } as Loose;
  }
}

export class EchoNetwork implements NetworkDriver {
  async showNetwork(req: NetworkRequest<'showNetwork'>): Promise<never> {
    record('showNetwork', req);
    throw Object.assign(new Error('boom: a driver bug'), { secret: 'do-not-show' });
  }
}

export const echoModule: BackendModule = {
  name: 'echo',
  description: 'test backend that echoes requests',
  classes: { compute: EchoCompute, volume: EchoVolume, network: EchoNetwork },
  microversions: { compute: { max: '2.90' } },
  async create(): Promise<Backend> {
    return {
      drivers: { compute: new EchoCompute(), volume: new EchoVolume(), network: new EchoNetwork() },
      async close() {},
    };
  },
};
