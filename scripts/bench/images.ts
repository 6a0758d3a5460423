/**
 * Image data throughput through the real HTTP API of a spawned gateway:
 * PUT /image/v2/images/{id}/file and GET …/file, both streamed by node:http
 * from and to files on the same disk, against a plain copy of the same file
 * there (stream pipeline, and copyFile). Runs alternate so all see the same
 * machine; the source file is in the page cache for all of them.
 */
import { createReadStream, createWriteStream, rmSync, statSync, copyFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { startGateway, type BenchGateway } from './gateway.js';
import { log, median, round, rssMb } from './lib.js';

export interface ImageBenchOptions {
  dir: string;
  config: string;
  /** Size of the test file. */
  mb: number;
  runs: number;
}

function writeTestFile(path: string, mb: number): void {
  // Random, so no layer below can compress it; 16 MB of it repeated is enough for that.
  const chunk = randomBytes(16 * 1024 * 1024);
  const fd = openSync(path, 'w');
  try {
    for (let left = mb * 1024 * 1024; left > 0; left -= chunk.length) writeSync(fd, chunk, 0, Math.min(left, chunk.length));
  } finally {
    closeSync(fd);
  }
}

async function upload(g: BenchGateway, id: string, file: string): Promise<void> {
  const size = statSync(file).size;
  const u = new URL(`${g.url}/image/v2/images/${id}/file`);
  await new Promise<void>((resolvePromise, reject) => {
    const req = request(u, { method: 'PUT', headers: { 'x-auth-token': g.token, 'content-type': 'application/octet-stream', 'content-length': size } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => (res.statusCode === 204 ? resolvePromise() : reject(new Error(`bench upload: ${res.statusCode} ${text.slice(0, 200)}`))));
    });
    req.on('error', reject);
    pipeline(createReadStream(file), req).catch(reject);
  });
}

async function download(g: BenchGateway, id: string, to: string): Promise<number> {
  const u = new URL(`${g.url}/image/v2/images/${id}/file`);
  return new Promise<number>((resolvePromise, reject) => {
    request(u, { headers: { 'x-auth-token': g.token } }, (res) => {
      if (res.statusCode !== 200) { reject(new Error(`bench download: ${res.statusCode}`)); res.resume(); return; }
      pipeline(res, createWriteStream(to)).then(() => resolvePromise(statSync(to).size), reject);
    }).on('error', reject).end();
  });
}

async function timed(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

export async function benchImages(o: ImageBenchOptions): Promise<Record<string, unknown>> {
  const src = join(o.dir, 'image-src.bin');
  const dst = join(o.dir, 'image-dst.bin');
  writeTestFile(src, o.mb);
  const g = await startGateway(o.config);
  try {
    const rssBefore = rssMb(g.pid);
    const t = { streamCopy: [] as number[], copyFile: [] as number[], upload: [] as number[], download: [] as number[] };
    for (let i = 0; i < o.runs; i++) {
      t.streamCopy.push(await timed(() => pipeline(createReadStream(src), createWriteStream(dst))));
      rmSync(dst, { force: true });
      t.copyFile.push(await timed(() => copyFileSync(src, dst)));
      rmSync(dst, { force: true });
      const image = await g.api<{ id: string }>('POST', '/image/v2/images', { name: `bench-upload-${i}`, disk_format: 'raw', container_format: 'bare' });
      t.upload.push(await timed(() => upload(g, image.id, src)));
      let got = 0;
      t.download.push(await timed(async () => { got = await download(g, image.id, dst); }));
      if (got !== o.mb * 1024 * 1024) throw new Error(`bench download: ${got} bytes, expected ${o.mb} MB`);
      rmSync(dst, { force: true });
      await g.api('DELETE', `/image/v2/images/${image.id}`);
      const mbps = (s: number[]) => round(o.mb / s[s.length - 1]!);
      log(`images: run ${i + 1}/${o.runs}  upload ${mbps(t.upload)} MB/s  download ${mbps(t.download)} MB/s  stream copy ${mbps(t.streamCopy)} MB/s  copyFile ${mbps(t.copyFile)} MB/s`);
    }
    const rate = (s: number[]) => o.mb / median(s);
    const rssAfter = rssMb(g.pid);
    const up = rate(t.upload), down = rate(t.download), copy = rate(t.streamCopy), cf = rate(t.copyFile);
    return {
      imageData: {
        mb: o.mb, runs: o.runs,
        uploadMBps: round(up), downloadMBps: round(down), streamCopyMBps: round(copy), copyFileMBps: round(cf),
        uploadVsStreamCopy: round(up / copy, 2), downloadVsStreamCopy: round(down / copy, 2),
        uploadVsCopyFile: round(up / cf, 2), downloadVsCopyFile: round(down / cf, 2),
        gatewayRssBeforeMb: rssBefore, gatewayRssAfterMb: rssAfter,
        note: 'PUT and GET /image/v2/images/{id}/file streamed by node:http from/to a file in the same temp dir as the gateway data dir; '
          + 'upload also computes md5 and sha512 (Glance checksum, os_hash_value), as Glance does; baselines: fs stream pipeline and copyFile of the same file on the same disk; medians of the runs',
      },
    };
  } finally {
    await g.stop();
    rmSync(src, { force: true });
    rmSync(dst, { force: true });
  }
}
