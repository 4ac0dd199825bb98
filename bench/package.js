/**
 * Benchmark of the installed package (issue 15 §2): the built clone packed as `npm pack` packs it
 * (its files and the lock as npm-shrinkwrap.json; the clone's dist/ as built, so no rebuild),
 * installed with `npm install -g` into a temporary prefix (npm's cache first), and the start-up of
 * that global `acr-trust --help` and of a full unattended run on the sim, sampled side by side
 * with the clone's `node bin/acr-trust.js`. Needs a build.
 *
 *   node bench/package.js     prints {"installMs":…,"globalHelpMs":…,"cloneHelpMs":…,"helpRatio":…,…}
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x) => Math.round(x * 10) / 10;

function run(cmd, args, cwd) {
  const env = { ...process.env, NO_COLOR: '1', CI: 'true', PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${(r.stderr || r.stdout).slice(-300)}`);
  return ms;
}

export function benchPackage({ samples = 5 } = {}) {
  const work = mkdtempSync(join(tmpdir(), 'acr-trust-bench-pkg-'));
  try {
    // Packed from the clone as built: `--ignore-scripts` skips prepack's rebuild, so the shrinkwrap
    // prepack would make is made here (and removed again, as postpack does).
    copyFileSync(join(root, 'package-lock.json'), join(root, 'npm-shrinkwrap.json'));
    try {
      run('npm', ['pack', '--ignore-scripts', '--pack-destination', work], root);
    } finally {
      rmSync(join(root, 'npm-shrinkwrap.json'), { force: true });
    }
    const tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz')));
    const prefix = join(work, 'prefix');
    const installMs = run('npm', ['install', '-g', tarball, '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund'], work);
    const globalBin = join(prefix, 'bin', 'acr-trust');
    const clone = [process.execPath, join(root, 'bin/acr-trust.js')];
    const help = { global: [], clone: [] };
    const full = { global: [], clone: [] };
    for (let i = 0; i < samples; i++) {
      help.global.push(run(globalBin, ['--help'], work));
      help.clone.push(run(clone[0], [clone[1], '--help'], work));
    }
    for (let i = 0; i < Math.max(2, Math.ceil(samples / 2)); i++) {
      for (const [kind, cmd, args] of [['global', globalBin, []], ['clone', clone[0], [clone[1]]]]) {
        const wd = join(work, `wd-${kind}-${i}`);
        full[kind].push(run(cmd, [...args, 'run', '--target', 'sim', '--yes', '--sim-speed', 'instant', '--workdir', wd], work));
      }
    }
    const g = median(help.global), c = median(help.clone), fg = median(full.global), fc = median(full.clone);
    return {
      installMs: round(installMs),
      globalHelpMs: round(g),
      cloneHelpMs: round(c),
      helpRatio: round(g / c),
      globalRunMs: round(fg),
      cloneRunMs: round(fc),
      runRatio: round(fg / fc),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) console.log(JSON.stringify(benchPackage()));
