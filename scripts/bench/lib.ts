/** What every part of `make bench` shares: spawning servers, medians, RSS. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Rounded for reports: 3 significant digits is all these machines can tell apart. */
export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 102.4) / 10;
}

export interface Started { ms: number; url: string; pid: number; stop(): Promise<void> }

/** Spawns a server and waits for its "listening on URL" line. */
export function start(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 20_000): Promise<Started> {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no listening line after ${timeoutMs / 1000} s: ${out}`)); }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolvePromise({
          ms: performance.now() - t0, url: m[1]!, pid: child.pid!,
          stop: () => new Promise((r) => {
            if (child.exitCode !== null || child.signalCode !== null) { r(); return; }
            child.once('exit', () => r());
            child.kill('SIGTERM');
          }),
        });
      }
    });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    child.once('exit', (code) => { clearTimeout(timer); if (!/listening/.test(out)) reject(new Error(`exited ${code}: ${out}`)); });
  });
}

/** A Koa app with nothing in it, the baseline for start, RSS and request rates. */
export const BARE_KOA = `
import Koa from 'koa';
const app = new Koa();
app.use((ctx) => { ctx.body = { ok: true }; });
const s = app.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + s.address().port));
process.on('SIGTERM', () => process.exit(0));
`;

export function log(line: string): void {
  console.log(`bench: ${line}`);
}
