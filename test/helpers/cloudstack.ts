/**
 * A gateway in front of the CloudStack simulator (test/simulators/cloudstack/),
 * with the `cloudstack` auth plugin before `local`: a CloudStack API key and
 * secret key log in as a shadow user of the project `cloudstack-<account>`.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { startWithSimulator, type Harness } from './gateway.js';
import { registerSecret } from './secrets.js';
import { startCloudStackSimulator, type CloudStackSimulator } from '../simulators/cloudstack/server.js';
import { accountProjectName } from '../../drivers/cloudstack/auth.js';

export interface CloudStackAccount { apiKey: string; secretKey: string; account: string; project: string }

export interface CloudStackHarness {
  sim: CloudStackSimulator;
  gw: Harness;
  /** A CloudStack user made in the simulator for this run. */
  account: CloudStackAccount;
  /** A project-scoped token of `account`, by API key + secret key. */
  token: string;
  /** Adds another CloudStack user (its own account unless one is named). */
  addAccount(account?: string): CloudStackAccount;
  close(): Promise<void>;
}

export function newAccount(sim: CloudStackSimulator, account = `acct-${randomBytes(3).toString('hex')}`): CloudStackAccount {
  // CloudStack's keys are 86-character URL-safe base64 strings.
  const apiKey = randomBytes(64).toString('base64url').slice(0, 86);
  const secretKey = randomBytes(64).toString('base64url').slice(0, 86);
  sim.addUser(apiKey, secretKey, account);
  registerSecret(apiKey, 'CloudStack API key');
  registerSecret(secretKey, 'CloudStack secret key');
  return { apiKey, secretKey, account, project: accountProjectName(account) };
}

export async function startCloudStackGateway(opts: {
  jobMs?: number; timeoutMs?: number; retries?: number; overrides?: Record<string, unknown>; logger?: Logger;
} = {}): Promise<CloudStackHarness> {
  const sim = await startCloudStackSimulator({ jobMs: opts.jobMs ?? 300 });
  const h = await startWithSimulator(sim, {
    backend: 'cloudstack',
    identity: { auth: ['cloudstack', 'local'] },
    ...opts.overrides,
    // Always the simulator: never a real CloudStack endpoint from a test.
    cloudstack: { ...(opts.overrides?.cloudstack as object | undefined), endpoint: sim.endpoint, timeoutMs: opts.timeoutMs ?? 5000, retries: opts.retries ?? 1 },
  }, opts.logger, (s) => newAccount(s), (gw, a) => gw.login(a.apiKey, a.secretKey, a.project));
  return { ...h, addAccount: (name?: string) => newAccount(sim, name) };
}

/** OS_* variables for the openstack CLI as a CloudStack user (user name = API key, password = secret key). */
export function cloudStackCliEnv(h: CloudStackHarness, a: CloudStackAccount = h.account): NodeJS.ProcessEnv {
  return {
    OS_USERNAME: a.apiKey, OS_PASSWORD: a.secretKey, OS_PROJECT_NAME: a.project,
    OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default',
  };
}
