/**
 * Horizon (Debian openstack-dashboard, Horizon 23) against a gateway with
 * three regions — the sandbox (RegionOne), a real Debian Glance through the
 * OpenStack passthrough (RegionTwo) and the SoftLayer simulator
 * (RegionThree) — driven by headless Chromium (Debian's /usr/bin/chromium
 * through playwright-core): log in as the admin, open Project → Compute →
 * Instances and Images, switch region from Horizon's region menu, and check
 * that the rows are what was created through the API in that region.
 * Screenshots go to the run's log directory; STACKGATE_HORIZON_SHOTS=reports/horizon
 * writes them over the committed ones instead (a test run leaves the tree as it was).
 *
 * Horizon reaches the gateway through a recording proxy (test/helpers/horizon.ts),
 * so a failing assertion lists the requests Horizon made that the gateway
 * answered 4xx/5xx, with the fault, plus Horizon's own warnings.
 *
 * Skipped when Horizon, Chromium, Keystone or Glance is not installed
 * (.ci/run installs openstack-dashboard, chromium, keystone and glance).
 */
import { expect } from 'chai';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startGateway, until, type Harness } from '../helpers/gateway.js';
import { TEST_LOG_DIR } from '../helpers/secrets.js';
import { newAccount } from '../helpers/softlayer.js';
import { sharedUpstream, upstreamAvailable } from '../helpers/upstream-openstack.js';
import { startSoftLayerSimulator, type SoftLayerSimulator } from '../simulators/softlayer/server.js';
import {
  CHROMIUM, CHROMIUM_ARGS, horizonAvailable, horizonProblems, recordingProxy, startHorizon,
  type HorizonInstance, type RecordingProxy,
} from '../helpers/horizon.js';

const SHOTS = process.env.STACKGATE_HORIZON_SHOTS ? resolve(process.env.STACKGATE_HORIZON_SHOTS) : join(TEST_LOG_DIR, 'horizon');
const SERVERS = ['hz-vm1', 'hz-vm2'];
/** Made in RegionThree (SoftLayer) and RegionTwo (the real Glance). */
const SL_SERVERS = ['hz-sl-web', 'hz-sl-db'];
const UPSTREAM_IMAGE = 'hz-upstream-image';
const SL_ENV = 'STACKGATE_TEST_HORIZON_SL_KEY';
const SERVICE_ENV = 'STACKGATE_TEST_HORIZON_UPSTREAM_PW';

/** Runs `fn` for at most `ms`: 'ok', or why not (its error, or the time running out). */
async function bounded(ms: number, fn: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const out = await Promise.race([
    fn().then(() => 'ok', (err: Error) => String(err.message).split('\n')[0]!),
    new Promise<string>((resolve) => { timer = setTimeout(() => resolve(`no answer within ${ms} ms`), ms); }),
  ]);
  clearTimeout(timer);
  return out;
}
const IMAGE = 'hz-image';

describe('Horizon: login, instances and images, and three regions from its region menu', function () {
  this.timeout(240_000);
  let h: Harness;
  let proxy: RecordingProxy;
  let horizon: HorizonInstance;
  let browser: Browser;
  let page: Page;
  let loggedIn = false;
  let sim: SoftLayerSimulator;

  /** What went wrong on the way, for an assertion's message. */
  function diagnostics(since = 0): string {
    const fails = proxy.requests.slice(since).filter((r) => r.status >= 400)
      .map((r) => `  ${r.status} ${r.method} ${r.url}\n      ${(r.responseBody ?? '').slice(0, 300)}`);
    const counts = new Map<string, number>();
    for (const r of proxy.requests.slice(since)) counts.set(`${r.method} ${r.url}`, (counts.get(`${r.method} ${r.url}`) ?? 0) + 1);
    const loops = [...counts].filter(([, n]) => n >= 20).map(([k, n]) => `  ${n}× ${k}`);
    const problems = horizonProblems(horizon.logFile).slice(-15).map((l) => `  ${l.slice(0, 400)}`);
    return `\ngateway answers >= 400 (via Horizon):\n${fails.join('\n') || '  none'}`
      + (loops.length ? `\nthe same request over and over (a paging loop?):\n${loops.join('\n')}` : '')
      + `\nHorizon log warnings:\n${problems.join('\n') || '  none'}`;
  }

  async function shot(name: string): Promise<void> {
    await bounded(20_000, () => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true, timeout: 15_000 }));
  }

  /** Error messages Horizon shows on the page (Django messages and Angular toasts). */
  async function errorAlerts(): Promise<string[]> {
    const texts = await page.locator('.alert-danger, .alert-error').allInnerTexts().catch(() => [] as string[]);
    return texts.map((t) => t.replace(/\s+/g, ' ').trim()).filter(Boolean);
  }

  /** The cells under the column headed `header` in every table on the page (Django and Angular tables). */
  async function column(header: string): Promise<string[]> {
    return page.evaluate((hd) => {
      const out: string[] = [];
      for (const table of Array.from(document.querySelectorAll('table'))) {
        const heads = Array.from(table.querySelectorAll('thead tr'));
        const last = heads[heads.length - 1];
        if (!last) continue;
        const ths = Array.from(last.querySelectorAll(':scope > th')).map((th) => (th.textContent ?? '').trim());
        const idx = ths.indexOf(hd);
        if (idx < 0) continue;
        for (const tr of Array.from(table.querySelectorAll('tbody > tr'))) {
          const tds = tr.querySelectorAll(':scope > td');
          if (tds.length === ths.length) out.push((tds[idx]!.textContent ?? '').trim());
        }
      }
      return out;
    }, header);
  }

  /** Polls `column(header)` until it holds every name in `want`, for at most `ms`. */
  async function waitColumn(header: string, want: string[], ms = 20_000): Promise<string[]> {
    const end = Date.now() + ms;
    let names: string[] = [];
    for (;;) {
      names = await column(header).catch(() => []);
      if (want.every((n) => names.includes(n)) || Date.now() > end) return names;
      await page.waitForTimeout(250);
    }
  }

  async function open(path: string): Promise<void> {
    expect(loggedIn, 'not logged in to Horizon (see the login test)').to.equal(true);
    const res = await page.goto(horizon.url + path, { waitUntil: 'load', timeout: 45_000 });
    expect(res?.status(), `GET ${path}`).to.equal(200);
    expect(new URL(page.url()).pathname, `${path} sent back to the login page`).to.not.match(/^\/auth\/login/);
  }

  before(async function () {
    if (!horizonAvailable() || !existsSync(CHROMIUM) || !upstreamAvailable()) this.skip();
    mkdirSync(SHOTS, { recursive: true });
    const upstream = await sharedUpstream();
    sim = await startSoftLayerSimulator({ provisionMs: 200, transactionMs: 100, cancelMs: 100 });
    const slAccount = newAccount(sim);
    process.env[SL_ENV] = slAccount.apiKey;
    process.env[SERVICE_ENV] = upstream.admin.password;
    h = await startGateway({
      contract: true,
      sandbox: { buildDelayMs: 100 },
      // The admin is mapped to a SoftLayer user, and acts in the real Glance with the service account.
      identity: { auth: ['softlayer', 'local'] },
      softlayer: { endpoint: sim.endpoint, timeoutMs: 5000, retries: 1, mappedUsers: { admin: { username: slAccount.username, apiKeyEnv: SL_ENV } } },
      regions: [
        {
          name: 'RegionTwo', backend: 'openstack',
          openstack: {
            authUrl: `${upstream.keystoneUrl}/v3`, credentials: 'service', services: ['image'],
            serviceAccount: { username: upstream.admin.username, passwordEnv: SERVICE_ENV, projectName: upstream.admin.projectName, userDomainName: 'Default', projectDomainName: 'Default' },
          },
        },
        { name: 'RegionThree', backend: 'softlayer' },
      ],
    });
    proxy = await recordingProxy(h.url);

    // Content made through the API, as any client would.
    const must = async (method: string, path: string, body?: unknown): Promise<any> => { // eslint-disable-line @typescript-eslint/no-explicit-any -- API JSON, shapes checked by other tests
      const r = await h.request(method, path, { body });
      if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
      return r.json;
    };
    const net = (await must('POST', '/network/v2.0/networks', { network: { name: 'hz-net' } })).network;
    await must('POST', '/network/v2.0/subnets', { subnet: { name: 'hz-sub', network_id: net.id, cidr: '10.30.0.0/24', ip_version: 4 } });
    const img = await must('POST', '/image/v2/images', { name: IMAGE, disk_format: 'qcow2', container_format: 'bare', visibility: 'public' });
    const up = await h.request('PUT', `/image/v2/images/${img.id}/file`, { raw: 'x'.repeat(4096), headers: { 'content-type': 'application/octet-stream' } });
    if (up.status !== 204) throw new Error(`image upload: ${up.status} ${up.text}`);
    const flavor = (await must('GET', '/compute/v2.1/flavors')).flavors.find((f: { name: string }) => f.name === 'm1.tiny');
    for (const name of SERVERS) {
      await must('POST', '/compute/v2.1/servers', { server: { name, imageRef: img.id, flavorRef: flavor.id, networks: [{ uuid: net.id }] } });
    }

    // RegionThree: SoftLayer guests ordered through the gateway; RegionTwo: an image in the real Glance.
    const slImages = (await must('GET', '/region/RegionThree/image/v2/images')).images as Array<{ id: string; name: string }>;
    const slImage = slImages.find((i) => /ubuntu/i.test(i.name)) ?? slImages[0]!;
    for (const name of SL_SERVERS) {
      const r = await h.request('POST', '/region/RegionThree/compute/v2.1/servers', {
        headers: { 'openstack-api-version': 'compute 2.37' }, body: { server: { name, flavorRef: 'sl.1x1x25', imageRef: slImage.id, networks: 'auto' } },
      });
      if (r.status !== 202) throw new Error(`SoftLayer server ${name}: ${r.status} ${r.text}`);
    }
    await until('the SoftLayer guests to be ACTIVE', async () => {
      const servers = (await must('GET', '/region/RegionThree/compute/v2.1/servers/detail')).servers as Array<{ status: string }>;
      return servers.length === SL_SERVERS.length && servers.every((x) => x.status === 'ACTIVE') ? true : undefined;
    }, 30_000);
    const upImg = await must('POST', '/region/RegionTwo/image/v2/images', { name: UPSTREAM_IMAGE, disk_format: 'raw', container_format: 'bare' });
    const upPut = await h.request('PUT', `/region/RegionTwo/image/v2/images/${upImg.id}/file`, { raw: 'y'.repeat(8192), headers: { 'content-type': 'application/octet-stream' } });
    if (upPut.status !== 204) throw new Error(`upstream image upload: ${upPut.status} ${upPut.text}`);

    horizon = await startHorizon({ keystoneUrl: `${proxy.url}/identity/v3`, startTimeoutMs: 60_000 });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(30_000);
    page.setDefaultNavigationTimeout(45_000);
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await horizon?.stop();
    await proxy?.close();
    await h?.close();
    await sim?.close();
    delete process.env[SL_ENV];
    delete process.env[SERVICE_ENV];
  });

  /** Picks a region from Horizon's region menu (the link it renders for it), then opens `path`. */
  async function switchRegion(region: string, path: string): Promise<void> {
    const link = page.locator(`a[href*="/auth/switch_services_region/${region}/"]`).first();
    expect(await link.count(), `Horizon offers no ${region} in its region menu`).to.equal(1);
    const href = await link.getAttribute('href');
    await page.goto(new URL(href!, horizon.url).toString(), { waitUntil: 'load' });
    await open(path);
    const shown = await page.locator('.context-region, .region-selector, [class*="region"]').allInnerTexts().catch(() => [] as string[]);
    expect(shown.join(' '), 'the header shows the region picked').to.contain(region);
  }

  it('logs in as the admin (Keystone v3 password, domain Default)', async () => {
    await page.goto(`${horizon.url}/auth/login/`, { waitUntil: 'load' });
    await page.fill('#id_username', 'admin');
    await page.fill('#id_password', h.adminPassword);
    if (await page.locator('#id_domain').count()) await page.fill('#id_domain', 'Default');
    await shot('login');
    // The POST signs in and renders the landing page (Project → Overview). Bounded: when the
    // gateway never ends Horizon's paging (e.g. a marker it ignores), the POST never answers.
    const submitted = await bounded(60_000, async () => {
      await page.click('#loginBtn', { timeout: 55_000 });
      await page.waitForLoadState('load', { timeout: 55_000 });
    });
    if (submitted !== 'ok') {
      await shot('after-login');
      expect.fail(`login did not complete: ${submitted}${diagnostics()}`);
    }
    await shot('after-login');
    const path = new URL(page.url()).pathname;
    const alerts = await errorAlerts();
    expect(path, `still on the login page (${alerts.join(' | ') || 'no message'})${diagnostics()}`).to.not.match(/^\/auth\/login/);
    loggedIn = true;
  });

  it('Project → Compute → Instances lists the servers created through the API', async () => {
    const since = proxy.requests.length;
    await open('/project/instances/');
    const names = await waitColumn('Instance Name', SERVERS);
    const alerts = await errorAlerts();
    await shot('instances');
    expect(alerts, `error messages on Instances${diagnostics(since)}`).to.deep.equal([]);
    expect([...names].sort(), `instance rows${diagnostics(since)}`).to.deep.equal([...SERVERS].sort());
  });

  it('Project → Compute → Images lists the image created through the API', async () => {
    const since = proxy.requests.length;
    await open('/project/images/');
    const names = await waitColumn('Name', [IMAGE]);
    const alerts = await errorAlerts();
    await shot('images');
    expect(alerts, `error messages on Images${diagnostics(since)}`).to.deep.equal([]);
    expect(names, `image rows${diagnostics(since)}`).to.deep.equal([IMAGE]);
  });

  it('switches to RegionThree (SoftLayer) from the region menu: its instances and images, not the sandbox\'s', async () => {
    const since = proxy.requests.length;
    await switchRegion('RegionThree', '/project/instances/');
    const names = await waitColumn('Instance Name', SL_SERVERS);
    await shot('region-three-instances');
    expect([...names].sort(), `RegionThree instance rows${diagnostics(since)}`).to.deep.equal([...SL_SERVERS].sort());
    const alerts = await errorAlerts();
    expect(alerts, `error messages on RegionThree's Instances${diagnostics(since)}`).to.deep.equal([]);
    await open('/project/images/');
    const viaApi = ((await h.request('GET', '/region/RegionThree/image/v2/images')).json as { images: Array<{ name: string }> }).images.map((i) => i.name);
    const images = await waitColumn('Name', viaApi.slice(0, 1));
    await shot('region-three-images');
    expect(images.length, `RegionThree image rows${diagnostics(since)}`).to.be.above(0);
    expect(viaApi, 'every image row is one of RegionThree\'s').to.include.members(images);
    expect(images).not.to.include(IMAGE);
  });

  it('switches to RegionTwo (the real Glance, through the passthrough): its images', async () => {
    const since = proxy.requests.length;
    await switchRegion('RegionTwo', '/project/images/');
    const images = await waitColumn('Name', [UPSTREAM_IMAGE]);
    await shot('region-two-images');
    expect(images, `RegionTwo image rows${diagnostics(since)}`).to.deep.equal([UPSTREAM_IMAGE]);
    const alerts = await errorAlerts();
    expect(alerts, `error messages on RegionTwo's Images${diagnostics(since)}`).to.deep.equal([]);
  });
});
