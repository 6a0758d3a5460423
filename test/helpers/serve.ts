/**
 * `stackgate serve` as a real process on loopback, for the tests that need
 * several processes or a kill -9. Its output (the access log at debug level)
 * goes to the run's log directory, and its audit log is kept there before its
 * data dir goes, so test/zz-secrets-scan.test.ts reads them too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { armTestLogCleanup, TEST_LOG_DIR } from './secrets.js';

export const STACKGATE_BIN = resolve(import.meta.dirname, '../../bin/stackgate');

export interface ServedProcess {
  url: string;
  child: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
}

let served = 0;

/** Starts `stackgate serve --config <config> --port 0`; resolves once it prints where it listens. */
export function serveProcess(config: string, env: Record<string, string> = {}): Promise<ServedProcess> {
  mkdirSync(TEST_LOG_DIR, { recursive: true });
  armTestLogCleanup();
  return new Promise((ok, fail) => {
    const child = spawn('sh', [STACKGATE_BIN, 'serve', '--config', config, '--port', '0'], { env: { ...process.env, STACKGATE_LOG_LEVEL: 'debug', ...env } });
    const file = join(TEST_LOG_DIR, `${process.pid}-serve-${++served}-${child.pid}.log`);
    let out = '';
    let listening = false;
    const take = (d: Buffer) => {
      out += d.toString();
      appendFileSync(file, d);
    };
    const timer = setTimeout(() => { child.kill('SIGKILL'); fail(new Error(`no listening line: ${out.slice(-2000)}`)); }, 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      take(d);
      const m = listening ? null : /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        listening = true;
        clearTimeout(timer);
        ok({ url: m[1]!, child, output: () => out });
      }
    });
    child.stderr!.on('data', take);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (!listening) fail(new Error(`exited ${code ?? signal} before listening: ${out.slice(-2000)}`));
    });
  });
}

/** Keeps a data dir's audit log in the run's log directory (call before removing the dir). */
export function keepAuditLog(dataDir: string): void {
  const audit = join(dataDir, 'audit.log');
  if (!existsSync(audit)) return;
  mkdirSync(TEST_LOG_DIR, { recursive: true });
  copyFileSync(audit, join(TEST_LOG_DIR, `${process.pid}-serve-${++served}.audit.log`));
}
