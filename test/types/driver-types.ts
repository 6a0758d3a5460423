/**
 * Compile-time checks (tsc runs this file in `make test`): a driver method
 * with the wrong types does not compile. Each @ts-expect-error must stay an
 * error, or tsc fails.
 */
import type { ComputeDriver, ComputeRequest } from '../../generated/index.js';

export class WrongParameter implements ComputeDriver {
  // @ts-expect-error: the flavor id in the path is a string, not a number
  async showFlavor(req: { path: { id: number } }) {
    return { flavor: { id: String(req.path.id) } } as never;
  }
}

export class WrongResponse implements ComputeDriver {
  // @ts-expect-error: the body must be {flavor: …}
  async showFlavor(_req: ComputeRequest<'showFlavor'>) {
    return { flavour: {} };
  }
}

export class WrongActionBody implements ComputeDriver {
  async rebootServer(req: ComputeRequest<'rebootServer'>) {
    // @ts-expect-error: the reboot body is {reboot: {type}}, there is no `restart`
    void req.body.restart;
  }
}
