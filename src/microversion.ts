/**
 * Microversions: read `OpenStack-API-Version` (and the legacy per-service
 * header), negotiate within what both the spec and the driver support, and
 * echo the result. Out of range is 406, as Nova answers; a malformed version 400.
 */
import type { ServiceInfo } from '../generated/common.js';
import { Fault } from './faults.js';

export interface VersionRange {
  min: string;
  max: string;
}

const VERSION = /^([1-9]\d*)\.(0|[1-9]\d*)$/;

export function parseVersion(v: string): [number, number] | null {
  const m = VERSION.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/**
 * Versions as one comparable number (major × 2^16 + minor), remembered for the
 * few strings the specs and drivers use: a server view asks `atLeast` some
 * twenty times per server, and parsing each time was 4% of a servers/detail
 * request. Bounded, as requests name versions too.
 */
const ORDINALS = new Map<string, number>();
const MAX_ORDINALS = 4096;

function ordinal(v: string): number {
  let n = ORDINALS.get(v);
  if (n === undefined) {
    const p = parseVersion(v);
    // Minors above 2^16 - 1 (none in any spec) would overlap the next major: compare those the long way.
    n = p ? (p[1] < 65536 && p[0] < 2 ** 20 ? p[0] * 65536 + p[1] : NaN) : 0;
    if (ORDINALS.size < MAX_ORDINALS) ORDINALS.set(v, n);
  }
  return n;
}

/** Orders `2.9` before `2.10`. */
export function compareVersions(a: string, b: string): number {
  const x = ordinal(a);
  const y = ordinal(b);
  if (!Number.isNaN(x) && !Number.isNaN(y)) return x - y;
  const [am, an] = parseVersion(a) ?? [0, 0];
  const [bm, bn] = parseVersion(b) ?? [0, 0];
  return am - bm || an - bn;
}

/** True when `v` lies in [min, max]; null bounds are open. */
export function versionInRange(v: string | null, min: string | null | undefined, max: string | null | undefined): boolean {
  if (v === null) return true;
  if (min && compareVersions(v, min) < 0) return false;
  if (max && compareVersions(v, max) > 0) return false;
  return true;
}

/** For drivers: is the negotiated version at least `min`? */
export function atLeast(v: string | null, min: string): boolean {
  return v !== null && compareVersions(v, min) >= 0;
}

/** Both ranges at once: the versions the spec defines and the driver serves. */
export function intersect(spec: VersionRange, driver?: Partial<VersionRange>): VersionRange {
  const min = driver?.min && compareVersions(driver.min, spec.min) > 0 ? driver.min : spec.min;
  const max = driver?.max && compareVersions(driver.max, spec.max) < 0 ? driver.max : spec.max;
  return { min, max };
}

/** The version a request asks for: from `OpenStack-API-Version: <token> X.Y`, then legacy headers. */
export function requestedVersion(service: ServiceInfo, headers: Record<string, string | string[] | undefined>): string | null {
  const mv = service.microversion;
  if (!mv) return null;
  const raw = headers['openstack-api-version'];
  const values = (Array.isArray(raw) ? raw.join(',') : raw ?? '').split(',');
  for (const item of values) {
    const [token, version] = item.trim().split(/\s+/, 2);
    if (token?.toLowerCase() === mv.token && version) return version;
  }
  for (const h of mv.legacyHeaders) {
    const v = headers[h.toLowerCase()];
    if (v) return (Array.isArray(v) ? v[0] : v)!.trim();
  }
  return null;
}

/**
 * Negotiates the microversion of one request.
 * No header: the service's default (its minimum); `latest`: the maximum.
 */
export function negotiateMicroversion(
  service: ServiceInfo,
  headers: Record<string, string | string[] | undefined>,
  range: VersionRange,
): string | null {
  const mv = service.microversion;
  if (!mv) return null;
  const asked = requestedVersion(service, headers);
  if (asked === null) {
    return compareVersions(mv.defaultVersion, range.min) < 0 ? range.min : mv.defaultVersion;
  }
  if (asked.toLowerCase() === 'latest') return range.max;
  if (!parseVersion(asked)) {
    throw Fault.badRequest(`Invalid API version request: ${asked}. The format must be X.Y where X and Y are integers.`);
  }
  const normalized = parseVersion(asked)!.join('.');
  if (!versionInRange(normalized, range.min, range.max)) {
    throw new Fault('notAcceptable',
      `Version ${normalized} is not supported by the API. Minimum is ${range.min} and maximum is ${range.max}.`);
  }
  return normalized;
}

/** Response headers that echo the negotiated version. */
export function microversionHeaders(service: ServiceInfo, version: string | null): Record<string, string> {
  const mv = service.microversion;
  if (!mv || version === null) return {};
  const out: Record<string, string> = { 'OpenStack-API-Version': `${mv.token} ${version}` };
  for (const h of mv.legacyHeaders) out[h] = version;
  out.Vary = ['OpenStack-API-Version', ...mv.legacyHeaders].join(', ');
  return out;
}
