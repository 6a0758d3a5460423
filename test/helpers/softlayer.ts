/**
 * A gateway in front of the SoftLayer simulator (test/simulators/softlayer/),
 * with the `softlayer` auth plugin before `local`: a SoftLayer username and API
 * key log in as a shadow user of the project `softlayer-<account id>`.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { startWithSimulator, type Harness } from './gateway.js';
import { registerSecret } from './secrets.js';
import { startSoftLayerSimulator, type SoftLayerSimulator } from '../simulators/softlayer/server.js';
import { accountProjectName } from '../../drivers/softlayer/auth.js';

export interface SoftLayerAccount { username: string; apiKey: string; accountId: number; project: string }

export interface SoftLayerHarness {
  sim: SoftLayerSimulator;
  gw: Harness;
  /** A SoftLayer API user made in the simulator for this run. */
  account: SoftLayerAccount;
  /** A project-scoped token of `account`, by username + API key. */
  token: string;
  /** Adds another SoftLayer user (its own account unless one is given). */
  addAccount(accountId?: number): SoftLayerAccount;
  close(): Promise<void>;
}

let nextAccount = 300_000 + Math.floor(Math.random() * 1000) * 100;

export function newAccount(sim: SoftLayerSimulator, accountId = nextAccount++): SoftLayerAccount {
  const username = `SL${accountId}-${randomBytes(3).toString('hex')}`;
  const apiKey = randomBytes(32).toString('hex');
  sim.addUser(username, apiKey, accountId);
  registerSecret(apiKey, 'SoftLayer API key');
  return { username, apiKey, accountId, project: accountProjectName(accountId) };
}

export async function startSoftLayerGateway(opts: {
  provisionMs?: number; transactionMs?: number; cancelMs?: number; timeoutMs?: number; retries?: number; overrides?: Record<string, unknown>;
  logger?: Logger;
} = {}): Promise<SoftLayerHarness> {
  const sim = await startSoftLayerSimulator({ provisionMs: opts.provisionMs ?? 300, transactionMs: opts.transactionMs ?? 200, cancelMs: opts.cancelMs ?? 200 });
  const h = await startWithSimulator(sim, {
    backend: 'softlayer',
    // softlayer first: it passes local users on (no SoftLayer call) and can map some of them.
    identity: { auth: ['softlayer', 'local'] },
    ...opts.overrides,
    // Always the simulator: never a real SoftLayer endpoint from a test.
    softlayer: { ...(opts.overrides?.softlayer as object | undefined), endpoint: sim.endpoint, timeoutMs: opts.timeoutMs ?? 5000, retries: opts.retries ?? 1 },
  }, opts.logger, (s) => newAccount(s), (gw, a) => gw.login(a.username, a.apiKey, a.project));
  return { ...h, addAccount: (accountId?: number) => newAccount(sim, accountId) };
}

/** OS_* variables for the openstack CLI as a SoftLayer user (password = API key). */
export function softLayerCliEnv(h: SoftLayerHarness, a: SoftLayerAccount = h.account): NodeJS.ProcessEnv {
  return {
    OS_USERNAME: a.username, OS_PASSWORD: a.apiKey, OS_PROJECT_NAME: a.project,
    OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default',
  };
}
