/**
 * The trainer's live board in a real browser: Debian's Chromium driven by playwright-core opens
 * the address `sim serve` printed, while three learners do different things — learner 1 the whole
 * workflow with the wizard, learner 2 two of the article's steps with the real az CLI and one
 * attempt on learner 3's registry (refused), learner 3 the wizard up to create-task. The test
 * reads every cell of the board as it arrives (server-sent events, no reload) and saves a
 * screenshot to test-output/room-board.png.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { acrTrust, bin, serve, tmp } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const out = fileURLToPath(new URL('../../test-output/', import.meta.url));

/** `acr-trust <args>` signed in as the identity of `joinFile` (the variables `sim az-env` sets), asynchronously. */
function wizard(args: string[], joinFile: string, dir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const j = JSON.parse(readFileSync(joinFile, 'utf8'));
  const env = { ...process.env, AZURE_CLIENT_ID: j.clientId, AZURE_CLIENT_SECRET: j.clientSecret, AZURE_TENANT_ID: 'adfs', AZURE_AUTHORITY_HOST: j.endpoint, NO_COLOR: '1', CI: 'true' };
  const child = spawn(process.execPath, [bin, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** Chromium's `--ignore-certificate-errors-spki-list` value for a PEM certificate: base64 SHA-256 of its public key. */
function spkiHash(pem: string): string {
  return createHash('sha256').update(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
}

describe('the room board', () => {
  it.skipIf(!existsSync(CHROMIUM))('shows each learner\'s steps, runs and last error live in Chromium', async () => {
    const { chromium } = await import('playwright-core');
    const dir = tmp('acr-trust-board-');
    const state = join(dir, 'room.json');
    const served = await serve(['--scenario', 'classroom', '--learners', '3', '--state', state]);
    const line = served.line as any;
    // Chromium has no store of its own here for the room's CA: it is told to accept exactly the
    // room's server key (nothing else is trusted that the system does not trust already).
    const serverPem = readFileSync(join(dir, 'room.tls.pem'), 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/)![0];
    const context = await chromium.launchPersistentContext(mkdtempSync(join(dir, 'chromium-')), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--ignore-certificate-errors-spki-list=${spkiHash(serverPem)}`],
      viewport: { width: 1500, height: 520 },
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const fetched: string[] = [];
      page.on('request', (r) => fetched.push(r.url()));
      // Without the token: refused.
      const refused = await page.goto(line.endpoint + '/room');
      expect(refused!.status()).toBe(401);
      // With the printed address: the token becomes a cookie and leaves the address bar.
      await page.goto(line.board);
      expect(page.url()).toBe(`${line.endpoint}/room`);
      await page.waitForSelector('td.cell[data-learner="03"]');
      await page.evaluate(() => ((window as any).loadedOnce = true));
      const statuses = () => page.$$eval('td.cell', (tds) => Object.fromEntries(tds.map((td) => [`${(td as HTMLElement).dataset.learner}/${(td as HTMLElement).dataset.step}`, (td as HTMLElement).dataset.status])));
      const before = await statuses();
      for (const n of ['01', '02', '03']) {
        expect(before[`${n}/preflight`]).toBe('done');
        expect(before[`${n}/create-task`]).toBe('pending');
      }

      // Three learners at once.
      const joins = (n: string) => join(line.joinDir, `learner${n}.json`);
      const runArgs = (n: string) => ['run', '--target', 'azure', '--endpoint', line.endpoint, '--ca', line.caCertFile, '--subscription', line.subscriptionId, '--resource-group', `learner${n}`, '--registry', `acrtrustlearner${n}`, '--goal', 'demo', '--yes', '--json', '--workdir', join(dir, `wd${n}`)];
      const azEnv = acrTrust(['sim', 'az-env', '--join', joins('02'), '--dir', join(dir, 'az2'), '--json']);
      expect(azEnv.status, azEnv.stderr).toBe(0);
      const azEnvVars = { ...process.env, ...JSON.parse(azEnv.stdout).env };
      const az = (args: string[]) => new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const c = spawn('az', args, { cwd: dir, env: azEnvVars, stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        c.stderr.on('data', (d) => (stderr += d));
        c.on('close', (status) => resolve({ status, stderr }));
      });
      const [one, three, two] = await Promise.all([
        wizard(runArgs('01'), joins('01'), dir),
        wizard([...runArgs('03'), '--until', 'create-task'], joins('03'), dir),
        (async () => {
          const task = await az(['acr', 'task', 'create', '-n', 'acr-trust-task', '-r', 'acrtrustlearner02', '--cmd', '$Registry/hello-world', '--context', '/dev/null', '--assign-identity', '--auth-mode', 'None']);
          const closed = await az(['acr', 'update', '-n', 'acrtrustlearner02', '--public-network-enabled', 'false']);
          const intrude = await az(['acr', 'update', '-n', 'acrtrustlearner03', '-g', 'learner03', '--public-network-enabled', 'false']);
          return { task, closed, intrude };
        })(),
      ]);
      expect(one.code, one.stderr).toBe(0);
      expect(three.code, three.stderr).toBe(0);
      expect(two.task.status, two.task.stderr).toBe(0);
      expect(two.closed.status, two.closed.stderr).toBe(0);
      expect(two.intrude.stderr).toMatch(/AuthorizationFailed/);

      // The board catches up by itself.
      const want: Record<string, string> = {
        ...Object.fromEntries(['preflight', 'create-task', 'assign-role', 'add-credential', 'allow-task-bypass', 'disable-public-access', 'disable-trusted-services', 'confirm-denied'].map((s) => [`01/${s}`, 'done'])),
        // The success came before the negative test turned trusted services off: reversed on purpose.
        '01/run-task': 'reversed',
        '01/allow-trusted-services': 'reversed',
        '02/preflight': 'done', '02/create-task': 'done', '02/assign-role': 'pending', '02/add-credential': 'pending', '02/allow-trusted-services': 'done', '02/allow-task-bypass': 'pending', '02/disable-public-access': 'done', '02/run-task': 'pending', '02/disable-trusted-services': 'pending', '02/confirm-denied': 'pending',
        '03/preflight': 'done', '03/create-task': 'done', '03/assign-role': 'pending', '03/add-credential': 'pending', '03/allow-trusted-services': 'done', '03/allow-task-bypass': 'pending', '03/disable-public-access': 'pending', '03/run-task': 'pending', '03/disable-trusted-services': 'pending', '03/confirm-denied': 'pending',
      };
      let seen: Record<string, string | undefined> = {};
      for (let i = 0; i < 100; i++) {
        seen = await statuses();
        if (Object.entries(want).every(([k, v]) => seen[k] === v)) break;
        await page.waitForTimeout(100);
      }
      expect(seen).toEqual(want);
      // Runs with their outcome and cause; the last error names the action and scope refused.
      const runs = await page.$$eval('td[data-column=runs][data-learner="01"] [data-run]', (els) => els.map((e) => `${(e as HTMLElement).dataset.run} ${(e as HTMLElement).dataset.runStatus} ${e.textContent}`));
      expect(runs).toHaveLength(2);
      expect(runs[0]).toMatch(/^ca2 Failed .*— .*(network|firewall|public network access|denied|refused)/i);
      expect(runs[1]).toMatch(/^ca1 Succeeded/);
      expect(await page.textContent('td[data-column=runs][data-learner="02"]')).toBe('');
      const lastError = await page.textContent('td[data-column=last-error][data-learner="02"]');
      expect(lastError).toMatch(/^403 AuthorizationFailed: .*Microsoft\.ContainerRegistry\/registries\/(read|write).*learner03/);
      expect(await page.textContent('td[data-column=last-error][data-learner="01"]')).toBe('');
      // No reload happened: the same document got every change.
      expect(await page.evaluate(() => (window as any).loadedOnce)).toBe(true);
      // Nothing came from anywhere but the sim.
      expect(fetched.filter((u) => !u.startsWith(`${line.endpoint}/`))).toEqual([]);
      mkdirSync(out, { recursive: true });
      await page.screenshot({ path: join(out, 'room-board.png'), fullPage: true });
    } finally {
      await context.close();
      expect(await served.stop()).toBe(0);
    }
  }, 240_000);
});
