/**
 * Issue 11 §5: the task run's log is read like every other request — through the Azure SDK's
 * pipeline, so with its retries and through HTTPS_PROXY — and its link (a secret) is never shown.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startSim } from '../../src/sim/index.js';
import { cliAsync, jsonLines, ROOT, tempDir } from '../cli/helpers.js';
import { sdkClients } from '../helpers/sim.js';
import { serveSim, simShow } from '../reliability/support.js';
import { REGISTRY, RG, simCloud } from './sim-cloud.js';

const yaml = 'version: v1.1.0\nsteps:\n  - cmd: $Registry/hello-world\n';

/** An HTTP CONNECT proxy on loopback that records the targets it tunnels to. */
async function connectProxy(): Promise<{ url: string; targets: string[]; close(): Promise<void> }> {
  const targets: string[] = [];
  const tunnels = new Set<import('node:stream').Duplex>();
  const server = createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req, client, head) => {
    targets.push(req.url ?? '');
    tunnels.add(client);
    const [host, port] = (req.url ?? '').split(':');
    const upstream = netConnect(Number(port), host!, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    targets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of tunnels) t.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('the run log', () => {
  it('is read through HTTPS_PROXY, like the ARM requests', async () => {
    const sim = await startSim({ speed: 'instant' });
    const proxy = await connectProxy();
    try {
      const cloud = simCloud(sim);
      const task = await cloud.createTask(RG, REGISTRY, 'proxied', { location: 'eastus', taskYaml: yaml });
      const runId = await cloud.scheduleRun(RG, REGISTRY, task.id);
      const link = (await sdkClients(sim).registries.runs.getLogSasUrl(RG, REGISTRY, runId)).logLink!;
      // A process whose environment names the proxy. (Through a proxy the SDK trusts the CAs of
      // NODE_EXTRA_CA_CERTS, not a client's own tlsOptions — for the ARM clients too.)
      const dir = tempDir();
      const caFile = join(dir, 'ca.pem');
      (await import('node:fs')).writeFileSync(caFile, sim.caCert);
      const script = `
        import { fetchRunLog } from ${JSON.stringify(join(ROOT, 'dist/src/azure/run-log.js'))};
        try { process.stdout.write(await fetchRunLog(process.env.LINK, { doing: 'read the log' })); }
        catch (e) { process.stderr.write(e.message); process.exitCode = 1; }
        process.exit(); // the proxy agent keeps its connection alive
      `;
      const env = { ...process.env, HTTPS_PROXY: proxy.url, NO_PROXY: '', no_proxy: '', NODE_EXTRA_CA_CERTS: caFile, LINK: link };
      const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env, cwd: dir });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('unauthorized: authentication required');
      expect(proxy.targets).toEqual([new URL(sim.endpoint).host]);
      expect(sim.requests.filter((q) => q.name === 'logs.rawtext').length).toBeGreaterThan(0);
    } finally {
      await proxy.close();
      await sim.stop();
    }
  });

  it("--faults '503=0.5,routes=logs.*': the wizard retries the log reads and finishes; the link appears nowhere", async () => {
    const results = await Promise.all(
      [1, 2, 3].map(async (seed) => {
        const dir = tempDir();
        const sim = await serveSim(join(dir, 'cloud.json'), { speed: 'instant', faults: `503=0.5,seed=${seed},routes=logs.*` });
        try {
          const wd = join(dir, 'wd');
          const r = await cliAsync(['run', '--target', 'sim', ...sim.flags, '--sim-speed', 'instant', '--yes', '--workdir', wd, '--json']);
          await sim.stop();
          const logs = (await simShow(sim.stateFile)).requests.filter((q) => q.name === 'logs.rawtext');
          return { seed, r, logs, report: (await import('node:fs')).readFileSync(join(wd, 'report.md'), 'utf8') };
        } finally {
          await sim.kill();
        }
      }),
    );
    for (const { seed, r, logs, report } of results) {
      expect(r.status, `seed ${seed}: ${r.stderr}`).toBe(0);
      expect(jsonLines(r.stdout).at(-1)).toMatchObject({ event: 'summary', outcome: 'complete' });
      for (const text of [r.stdout, r.stderr, report]) expect(text).not.toMatch(/sig=|rawtext\.log/);
      // Every faulted read was sent again, at once, to the same blob.
      logs.forEach((q, i) => {
        if (q.fault) expect(logs[i + 1]?.path, `seed ${seed}`).toBe(q.path);
      });
    }
    expect(results.reduce((n, { logs }) => n + logs.filter((q) => q.fault === '503').length, 0), 'faults were injected on the log').toBeGreaterThan(0);
  }, 120_000);
});
