/**
 * The load generator of `make bench`: Debian's wrk, in its own process on
 * loopback, bounded in time. A Lua script per run sets the method, headers
 * and bodies (several requests in turn when given), and wrk's `done` hook
 * prints the figures as one JSON line, which is all we read of its output.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One request wrk sends; a run with several sends them in turn on each connection. */
export interface WrkRequest {
  method?: string;
  /** Path and query, against the run's base URL. */
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface WrkRun {
  /** `http://127.0.0.1:PORT`, no path: each request names its whole path. */
  base: string;
  requests: WrkRequest[];
  seconds: number;
  /** Connections kept open, each with one request in flight (1: one client, for latency). */
  connections: number;
  /** wrk threads (default 1: these machines have 2 cores, and the server under test needs one). */
  threads?: number;
}

export interface WrkResult {
  requests: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Answers outside 2xx/3xx, and socket errors (connect, read, write, timeout). */
  non2xx: number;
  errors: number;
}

/** Whether wrk can be run; `make bench` stops with the apt-get line when not. */
export function wrkAvailable(): boolean {
  // wrk has no --version that exits 0: it prints its banner and usage and exits 1.
  const r = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  return !r.error && /wrk/i.test(`${r.stdout}${r.stderr}`);
}

/** A Lua string literal: JSON's escapes are Lua's too, for ASCII (LuaJIT has no \\u escapes). */
function lua(s: string): string {
  if (!/^[\x20-\x7e]*$/.test(s)) throw new Error(`wrk: only printable ASCII goes into its Lua script, not ${JSON.stringify(s.slice(0, 40))}`);
  return JSON.stringify(s);
}

function script(run: WrkRun): string {
  const reqs = run.requests.map((r) => {
    const headers = Object.entries(r.headers ?? {}).map(([k, v]) => `[${lua(k)}] = ${lua(v)}`).join(', ');
    return `wrk.format(${lua(r.method ?? 'GET')}, ${lua(r.path)}, { ${headers} }${r.body === undefined ? '' : `, ${lua(r.body)}`})`;
  });
  return `
local reqs = {}
local n = 0
init = function(args)
  reqs = { ${reqs.join(',\n    ')} }
end
request = function()
  n = n + 1
  return reqs[(n - 1) % #reqs + 1]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK-RESULT {"requests":%d,"us":%d,"p50us":%d,"p99us":%d,"non2xx":%d,"errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
`;
}

/** Runs wrk once; rejects when it fails, times out, or any answer was not 2xx/3xx. */
export async function wrk(run: WrkRun): Promise<WrkResult> {
  // wrk sends the paths the script formats; a path in the URL would be silently ignored.
  if (new URL(run.base).pathname !== '/') throw new Error(`wrk: base ${run.base} has a path; put it in the requests`);
  const dir = mkdtempSync(join(tmpdir(), 'sg-wrk-'));
  try {
    const file = join(dir, 'run.lua');
    writeFileSync(file, script(run));
    const args = ['-t', String(run.threads ?? 1), '-c', String(run.connections), '-d', `${run.seconds}s`, '--timeout', '10s', '-s', file, run.base];
    const out = await new Promise<string>((resolvePromise, reject) => {
      const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (d: Buffer) => { text += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { text += d.toString(); });
      // wrk stops itself after -d; this only catches a wrk that does not.
      const timer = setTimeout(() => child.kill('SIGKILL'), (run.seconds + 20) * 1000);
      child.once('error', (err) => { clearTimeout(timer); reject(err); });
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (code === 0) resolvePromise(text);
        else reject(new Error(`wrk exited ${code}: ${text.slice(-500)}`));
      });
    });
    const line = /WRK-RESULT (\{.*\})/.exec(out)?.[1];
    if (!line) throw new Error(`wrk printed no result: ${out.slice(-500)}`);
    const r = JSON.parse(line) as { requests: number; us: number; p50us: number; p99us: number; non2xx: number; errors: number };
    if (r.non2xx || r.errors) throw new Error(`wrk ${run.base}${run.requests[0]!.path}: ${r.non2xx} answers outside 2xx/3xx, ${r.errors} socket errors in ${r.requests}`);
    const seconds = r.us / 1e6;
    return { requests: r.requests, seconds, perSecond: r.requests / seconds, p50Ms: r.p50us / 1000, p99Ms: r.p99us / 1000, non2xx: r.non2xx, errors: r.errors };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs each of `sides` for `seconds`, in turn, `rounds` times (a, b, a, b, …),
 * so that every side sees the same machine; returns each side's runs.
 */
export async function alternate<K extends string>(rounds: number, sides: Record<K, () => Promise<WrkResult>>): Promise<Record<K, WrkResult[]>> {
  const out = Object.fromEntries(Object.keys(sides).map((k) => [k, [] as WrkResult[]])) as Record<K, WrkResult[]>;
  for (let i = 0; i < rounds; i++) {
    for (const k of Object.keys(sides) as K[]) out[k].push(await sides[k]());
  }
  return out;
}
