/**
 * Replays the distilled Azure CLI recordings (test/sim/replay/*.json, facts from Azure/azure-cli's
 * acr test cassettes recorded against real Azure) against a fresh `acr-trust sim serve` each, and
 * fails on any status, long-running-pattern or key difference that test/sim/replay/allow-list.json
 * does not explain — and on an allow-list entry that explains nothing (a stale excuse).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadFixtures, replay, type RecordingResult } from '../../src/sim/replay.js';
import { serve } from '../az/helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = join(root, 'test/sim/replay');
const { fixtures, shapes, allow } = loadFixtures(dir);
const temp = mkdtempSync(join(tmpdir(), 'acr-trust-replay-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

/** A fresh `sim serve` (the real binary, port 0), stopped after `use`. */
async function withServe<T>(name: string, use: (t: { endpoint: string; caCert: string; subscriptionId: string }) => Promise<T>): Promise<T> {
  const served = await serve(['--port', '0', '--state', join(temp, `${name}.json`)]);
  try {
    return await use({ endpoint: served.line.endpoint, caCert: readFileSync(served.line.caCertFile, 'utf8'), subscriptionId: served.line.subscriptionId });
  } finally {
    await served.stop();
  }
}

const results: RecordingResult[] = [];

describe('replay of recorded real Azure traffic', () => {
  for (const fixture of fixtures) {
    it(`${fixture.recording} (${fixture.source.client}, ${fixture.source.recorded}): every in-scope interaction as recorded`, async () => {
      const r = await withServe(fixture.recording, (target) => replay(target, fixture, shapes, allow));
      results.push(r);
      expect(r.inScope).toBeGreaterThan(0);
      const unexplained = r.unexplained.map((d) => `#${d.n} ${d.kind}: ${d.detail}`);
      expect(unexplained, `differences not in allow-list.json`).toEqual([]);
      expect(r.statusMatches).toBe(r.inScope);
      expect(r.lroMatches).toBe(r.inScope);
    }, 60_000);
  }

  it('fails on a difference: a recorded asynchronous PATCH, a missing key, another status', async () => {
    const fixture = structuredClone(fixtures.find((f) => f.recording === 'test_acr_with_public_network_access')!);
    const patch = fixture.interactions.find((i) => i.method === 'PATCH')!;
    patch.lro = 'async';
    patch.status = 201;
    patch.answer = 'registry-2021-08-01-preview-Standard'; // no networkRuleSet: the sim's Premium answer has one
    const r = await withServe('mutated', (target) => replay(target, fixture, shapes, allow));
    const mine = r.unexplained.filter((d) => d.n === patch.n).map((d) => d.kind);
    expect(new Set(mine)).toEqual(new Set(['status', 'lro', 'key']));
    expect(r.statusMatches).toBe(r.inScope - 1);
  }, 60_000);

  it('uses every allow-list entry (none is stale)', () => {
    expect(results.map((r) => r.recording)).toEqual(fixtures.map((f) => f.recording));
    for (const entry of allow) {
      const used = results.some((r) => r.interactions.some((i) => i.differences.some((d) => d.allowed === entry.reason)));
      expect(used, `allow-list entry for ${entry.recording} explains nothing: ${entry.reason}`).toBe(true);
    }
  });
});
