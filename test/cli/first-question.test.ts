/**
 * The way to the first question stays light (issue #7: the first question within 300 ms): `acr-trust`
 * in a pseudo-terminal (util-linux `script`, as bench/run.js measures it) asks "Where should
 * acr-trust run the workflow?" before it has loaded listr2, yaml, the Azure SDK or adapter, the
 * steps or the sim, and without inquirer's other prompts (`@inquirer/prompts` loads them all).
 * Times are the bench's business; this pins what is loaded.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BIN, tempDir } from './helpers.js';

const QUESTION = 'Where should acr-trust run the workflow?';
const hasScript = !spawnSync('script', ['--version'], { encoding: 'utf8' }).error;

/**
 * A preload that records every module loaded (ES modules through a load hook, CommonJS ones from
 * the require cache) and, once the question is on the terminal, writes the list and exits.
 */
function preload(dir: string): string {
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(process.env.LOADED_FILE, url + '\\n');
  return next(url, context);
}
`,
  );
  const file = join(dir, 'preload.mjs');
  writeFileSync(
    file,
    `import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';
register(${JSON.stringify(pathToFileURL(hooks).href)});
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => {
  const r = write(chunk, ...rest);
  if (String(chunk).includes(${JSON.stringify(QUESTION)})) {
    const cjs = Object.keys(createRequire(import.meta.url).cache).map((f) => pathToFileURL(f).href);
    appendFileSync(process.env.LOADED_FILE, cjs.join('\\n') + '\\nQUESTION\\n');
    setImmediate(() => process.exit(0));
  }
  return r;
};
`,
  );
  return file;
}

/** Runs `acr-trust` on a pty until the first question; resolves with the module URLs loaded by then. */
function loadedBeforeFirstQuestion(): Promise<string[]> {
  const dir = tempDir('acr-trust-first-question-');
  const loaded = join(dir, 'loaded.txt');
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const line = [process.execPath, '--import', preload(dir), BIN, '--workdir', join(dir, 'w')].map(quote).join(' ');
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color', LOADED_FILE: loaded };
  delete env.CI;
  delete env.NO_COLOR;
  for (const k of Object.keys(env)) if (/^(ACR_TRUST_|AZURE_)/.test(k)) delete env[k];
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', line, '/dev/null'], { cwd: dir, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let seen = '';
    child.stdout.on('data', (c) => (seen += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', () => {
      clearTimeout(timer);
      const text = existsSync(loaded) ? readFileSync(loaded, 'utf8') : '';
      if (!text.includes('QUESTION')) reject(new Error(`no question on the terminal; it showed: ${seen.slice(-600)}`));
      else resolve(text.split('\n').filter((l) => l && l !== 'QUESTION'));
    });
  });
}

describe.skipIf(!hasScript)('the first question in a terminal', () => {
  it('comes before listr2, yaml, the Azure SDK, the adapter, the steps and the sim are loaded', async () => {
    const urls = await loadedBeforeFirstQuestion();
    const own = urls.filter((u) => u.includes('/dist/')).map((u) => u.replace(/.*\/dist\//, ''));
    const packages = new Set(urls.map((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1]).filter(Boolean));
    // It did get there through the CLI and the prompts.
    expect(own).toContain('src/cli/prompts.js');
    expect(packages).toContain('@inquirer/select');
    for (const pkg of ['listr2', '@listr2/prompt-adapter-inquirer', 'yaml', '@inquirer/prompts', '@inquirer/editor', '@inquirer/external-editor', 'iconv-lite']) {
      expect(packages, pkg).not.toContain(pkg);
    }
    expect([...packages].filter((p) => p!.startsWith('@azure/') || p!.startsWith('@typespec/'))).toEqual([]);
    expect(own.filter((f) => f.startsWith('azure-sdk') || f.startsWith('src/azure/') || f.startsWith('src/sim/') || f === 'steps/index.js' || f === 'src/cli/render/live.js')).toEqual([]);
  });
});
