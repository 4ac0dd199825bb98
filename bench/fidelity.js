/**
 * Fidelity figures of the simulated Azure: the five distilled Azure CLI recordings of real ACR
 * traffic (test/sim/replay/, sources named there) replayed against a fresh sim each — per
 * recording, the in-scope interactions and how many match in status, long-running pattern and
 * answer shape (key paths and types), the out-of-scope ones skipped, and the differences the
 * allow-list does not explain (the replay test fails on any). Needs a build: `npm run build`.
 *
 *   node bench/fidelity.js     prints {"recordings":[…],"total":{…}}
 */
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadFixtures, replay } from '../dist/src/sim/replay.js';
import { startSim } from '../dist/src/sim/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));

export async function benchFidelity() {
  const { fixtures, shapes, allow } = loadFixtures(join(root, 'test/sim/replay'));
  const recordings = [];
  for (const fixture of fixtures) {
    const sim = await startSim({});
    try {
      const r = await replay(sim, fixture, shapes, allow);
      recordings.push({
        recording: r.recording,
        client: r.source.client,
        inScope: r.inScope,
        outOfScope: r.outOfScope,
        status: r.statusMatches,
        lro: r.lroMatches,
        shape: r.shapeMatches,
        explainedShapeDifferences: r.interactions.filter((i) => i.inScope && !i.shapeMatch).length,
        unexplained: r.unexplained.length,
      });
    } finally {
      await sim.stop();
    }
  }
  const sum = (k) => recordings.reduce((a, r) => a + r[k], 0);
  return { recordings, total: { inScope: sum('inScope'), outOfScope: sum('outOfScope'), status: sum('status'), lro: sum('lro'), shape: sum('shape'), unexplained: sum('unexplained') } };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.log(JSON.stringify(await benchFidelity()));
