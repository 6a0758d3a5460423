/** A throwaway Debian redis-server on loopback for the tests (no persistence), and free ports. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';

export const REDIS_SERVER = '/usr/bin/redis-server';

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

/** A throwaway redis-server on loopback: no persistence, stopped by the test. */
export async function startRedis(port?: number): Promise<{ url: string; port: number; child: ChildProcess; stop(): Promise<void> }> {
  port ??= await freePort();
  const child: ChildProcess = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); fail(new Error(`redis-server did not start: ${out}`)); }, 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) { clearTimeout(timer); ok(); }
    });
    child.once('exit', (code) => { clearTimeout(timer); fail(new Error(`redis-server exited ${code}: ${out}`)); });
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    child,
    stop: () => new Promise<void>((r) => {
      if (child.exitCode !== null) return r();
      child.once('exit', () => r());
      child.kill('SIGTERM');
    }),
  };
}

