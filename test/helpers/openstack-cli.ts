/** The real `openstack` CLI (Debian python3-openstackclient) pointed at a test gateway as its admin. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import type { Harness } from './gateway.js';

const run = promisify(execFile);
export const OPENSTACK = '/usr/bin/openstack';

/** OS_* variables for the gateway's admin user and project. */
export function adminEnv(h: Harness): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH, HOME: h.dataDir,
    OS_AUTH_URL: `${h.url}/identity`, OS_IDENTITY_API_VERSION: '3', OS_USERNAME: 'admin', OS_PASSWORD: h.adminPassword,
    OS_PROJECT_NAME: 'admin', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default', OS_REGION_NAME: 'RegionOne',
  };
}

/**
 * Runs `openstack …` as the admin (extra variables override); `-f json` output
 * is parsed. A failure carries the CLI's own error text.
 */
export type OpenstackCli = (args: string[], extraEnv?: NodeJS.ProcessEnv) => Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- CLI JSON output, shapes asserted by the tests

export function openstackCli(h: Harness, timeoutMs = 90_000): OpenstackCli {
  const env = adminEnv(h);
  return async (args, extraEnv = {}) => {
    try {
      const { stdout } = await run(OPENSTACK, args, { env: { ...env, ...extraEnv }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
      return args.includes('json') ? JSON.parse(stdout || 'null') : stdout;
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message: string };
      throw new Error(`openstack ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`);
    }
  };
}

/** Awaits a CLI call that must fail, and checks the CLI's error text. */
export async function expectFailure(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await p;
  } catch (err) {
    expect((err as Error).message).to.match(pattern);
    return;
  }
  throw new Error(`expected a failure matching ${pattern}`);
}
