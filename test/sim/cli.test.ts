/** `acr-trust sim serve` / `sim show` as the real binary. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sdkClients } from '../helpers/sim.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/acr-trust.js');
const tmp = () => mkdtempSync(join(tmpdir(), 'acr-trust-cli-'));

function acrTrust(args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: root });
}

/** Starts `sim serve`, resolves with its JSON line and the child. */
function serve(args: string[]): Promise<{ line: any; child: ReturnType<typeof spawn>; exit: Promise<number | null> }> {
  const child = spawn(process.execPath, [bin, 'sim', 'serve', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const exit = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ line: JSON.parse(out.slice(0, nl)), child, exit });
    });
    child.on('exit', (code) => reject(new Error(`sim serve exited ${code} before listening: ${err}`)));
  });
}

describe('acr-trust sim serve', () => {
  it('prints one JSON line, serves the SDK, and saves and exits 0 on SIGTERM', async () => {
    const state = join(tmp(), 'cloud.json');
    const { line, child, exit } = await serve(['--state', state]);
    expect(Object.keys(line)).toEqual(['endpoint', 'endpoints', 'caCertFile', 'subscriptionId', 'tenantId']);
    expect(line.endpoints).toEqual([line.endpoint, line.endpoint.replace('127.0.0.1', 'localhost')]);
    expect(line.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    // While it runs, the same facts and its pid are beside the state file (for `sim az-env --state`).
    const endpointFile = state.replace(/\.json$/, '.endpoint.json');
    expect(JSON.parse(readFileSync(endpointFile, 'utf8'))).toEqual({ ...line, pid: child.pid });
    const caCert = readFileSync(line.caCertFile, 'utf8');
    const { registries } = sdkClients({ endpoint: line.endpoint, caCert, subscriptionId: line.subscriptionId });
    await registries.registries.beginUpdateAndWait('acr-trust-demo', 'acrtrustdemo', { networkRuleBypassAllowedForTasks: true });
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(existsSync(endpointFile)).toBe(false);
    const saved = JSON.parse(readFileSync(state, 'utf8'));
    expect(Object.values<any>(saved.registries)[0].properties.networkRuleBypassAllowedForTasks).toBe(true);

    const shown = acrTrust(['sim', 'show', '--state', state, '--json']);
    expect(shown.status).toBe(0);
    const doc = JSON.parse(shown.stdout);
    expect(doc).toMatchObject({ stateFile: state, scenario: 'default', speed: 'instant' });
    expect(doc.registries[0]).toMatchObject({ name: 'acrtrustdemo', properties: { networkRuleBypassAllowedForTasks: true } });
    expect(doc.roleAssignments).toHaveLength(1);
    expect(doc.requests.map((r: any) => r.name)).toEqual(['registries.update']); // a registry PATCH answers 200 at once, as recorded
    expect(Object.keys(doc).sort()).toEqual(['agentPools', 'registries', 'requests', 'resourceGroups', 'roleAssignments', 'runs', 'scenario', 'speed', 'stateFile', 'subscriptions', 'tasks', 'tenantId']);

    const text = acrTrust(['sim', 'show', '--state', state]);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain('networkRuleBypassAllowedForTasks=true');
    expect(text.stdout).toContain('Owner  User');
    expect(text.stdout).toMatch(/PATCH\s+200/);
  });

  it('exits 0 on SIGINT too, with the state saved', async () => {
    const state = join(tmp(), 'cloud.json');
    const { child, exit } = await serve(['--state', state, '--scenario', 'abac']);
    child.kill('SIGINT');
    expect(await exit).toBe(0);
    expect(JSON.parse(readFileSync(state, 'utf8')).scenario).toBe('abac');
  });

  it('refuses a bad port with exit 2 and no stack trace', () => {
    for (const port of ['70000', '-1', 'abc', '1.5']) {
      const r = acrTrust(['sim', 'serve', '--port', port, '--state', join(tmp(), 'c.json')]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('Invalid --port');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('refuses a bad fault spec and an unknown scenario with exit 2', () => {
    const f = acrTrust(['sim', 'serve', '--faults', 'boom', '--state', join(tmp(), 'c.json')]);
    expect(f.status).toBe(2);
    expect(f.stderr).toContain('Bad fault spec');
    const s = acrTrust(['sim', 'serve', '--scenario', 'nope', '--state', join(tmp(), 'c.json')]);
    expect(s.status).toBe(2);
    expect(s.stderr).toContain('Valid scenarios: default, basic-sku, abac, two-registries, no-role-write');
  });
});

describe('acr-trust sim show', () => {
  it('exits 2 with a clear message for a missing or corrupt state file, leaving it untouched', () => {
    const dir = tmp();
    const missing = acrTrust(['sim', 'show', '--state', join(dir, 'none.json')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('No simulated cloud at');
    const corrupt = join(dir, 'bad.json');
    writeFileSync(corrupt, '{"version":1,');
    for (const cmd of [['sim', 'show'], ['sim', 'serve']]) {
      const r = acrTrust([...cmd, '--state', corrupt]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`The sim state file ${corrupt} is not a simulated cloud`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(readFileSync(corrupt, 'utf8')).toBe('{"version":1,');
  });
});
