/**
 * A circuit breaker per backend. After `failures` calls in a row fail the
 * way a sick backend fails (unreachable, no answer in time, a 5xx), calls
 * fail fast for `openMs` with a 503 and Retry-After instead of piling up on
 * it; then one call goes through to try (half-open): a success closes the
 * circuit, a failure opens it again. Faults of the caller (4xx) count as the
 * backend working.
 */
import type { Logger } from 'pino';
import { Fault, isFault } from './faults.js';

export interface BreakerOptions {
  /** Consecutive failures that open the circuit. */
  failures: number;
  /** How long it stays open before a trial call. */
  openMs: number;
}

type State = { kind: 'closed'; failures: number } | { kind: 'open'; until: number } | { kind: 'half-open' };

/** The faults that mean the backend itself is failing. */
export function isBackendFailure(err: unknown): boolean {
  return isFault(err) && (err.kind === 'backendError' || err.kind === 'backendUnavailable' || err.kind === 'backendTimeout');
}

export class CircuitBreaker {
  private state: State = { kind: 'closed', failures: 0 };

  constructor(
    /** For messages and logs: `SoftLayer API`, `upstream image service of RegionTwo`. */
    readonly name: string,
    private readonly opts: BreakerOptions,
    private readonly logger?: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  get status(): 'closed' | 'open' | 'half-open' {
    return this.state.kind;
  }

  async run<T>(call: () => Promise<T>): Promise<T> {
    const s = this.state;
    if (s.kind === 'open') {
      const wait = s.until - this.now();
      if (wait > 0) {
        throw new Fault('backendUnavailable', `${this.name} is failing: calls to it are suspended for ${Math.ceil(wait / 1000)} s after ${this.opts.failures} failures in a row.`, {
          headers: { 'Retry-After': String(Math.ceil(wait / 1000)) },
        });
      }
      this.state = { kind: 'half-open' };
    } else if (s.kind === 'half-open') {
      // One trial at a time; the others wait for its verdict by failing fast.
      throw new Fault('backendUnavailable', `${this.name} is being retried after failures; try again shortly.`, { headers: { 'Retry-After': '1' } });
    }
    try {
      const result = await call();
      if (this.state.kind !== 'closed' || this.state.failures) {
        if (this.state.kind !== 'closed') this.logger?.info({ backend: this.name }, 'circuit closed: the backend answers again');
        this.state = { kind: 'closed', failures: 0 };
      }
      return result;
    } catch (err) {
      this.failed(err);
      throw err;
    }
  }

  private failed(err: unknown): void {
    if (!isBackendFailure(err)) {
      if (this.state.kind !== 'closed') this.state = { kind: 'closed', failures: 0 };
      return;
    }
    (err as Fault).headers['Retry-After'] ??= String(Math.ceil(this.opts.openMs / 1000));
    const failures = this.state.kind === 'closed' ? this.state.failures + 1 : this.opts.failures;
    if (failures >= this.opts.failures) {
      this.state = { kind: 'open', until: this.now() + this.opts.openMs };
      this.logger?.warn({ backend: this.name, failures, openMs: this.opts.openMs }, 'circuit open: calls to the backend are suspended');
    } else {
      this.state = { kind: 'closed', failures };
    }
  }
}
