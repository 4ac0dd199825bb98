/** Small file helpers shared by the engine's workdir and the sim's state file. */
import { createRequire } from 'node:module';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AcrTrustError } from './errors.js';

/**
 * Writes `data` to `file` atomically: a temp file in the same folder, fsync, rename. The file is
 * private to the user (0600) — state and answers files may name principals and resources.
 * `durable: false` skips the fsync (a crash of the machine may lose the write, never tear it).
 * A write that fails (a full disk, a read-only folder) leaves the file as it was and is an
 * AcrTrustError naming the file and the cause.
 */
export function writeFileAtomic(file: string, data: string, { durable = true } = {}): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    removeStaleTemps(file);
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeFileSync(fd, data);
      if (durable) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    // A full disk or a folder turned read-only: the file keeps its last whole version.
    rmSync(tmp, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if (!code) throw e;
    const why = (e as Error).message.replace(/^\w+: /, '').replace(/, \w+(?: '.*')?$/, '');
    throw new AcrTrustError(`cannot save ${file}: ${why} (${code}).`, {
      hint: 'Free some disk space or fix the folder\'s permissions, then run the same command again: what was saved before is intact.',
    });
  }
}

const swept = new Set<string>();

/**
 * Removes the temp files that processes killed mid-write left beside `file` (`<file>.<pid>.tmp`
 * of a pid no longer running). Once per file per process: later temps are our own.
 */
function removeStaleTemps(file: string): void {
  if (swept.has(file)) return;
  swept.add(file);
  const prefix = `${basename(file)}.`;
  let names: string[];
  try {
    names = readdirSync(dirname(file));
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/^(\d+)\.tmp$/.exec(name.slice(prefix.length))?.[1]);
    if (!name.startsWith(prefix) || !pid || pid === process.pid || processAlive(pid)) continue;
    rmSync(join(dirname(file), name), { force: true });
  }
}

/** Whether a process with this pid is running (on this host). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/**
 * The yaml library (answers files, task files), loaded on first use: `--help`, `steps` and the way
 * to the first question do without it.
 */
export const yaml = (): typeof import('yaml') => createRequire(import.meta.url)('yaml') as typeof import('yaml');

export function readJsonFile<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}
