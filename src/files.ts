/** Small file helpers shared by the engine's workdir and the sim's state file. */
import { createRequire } from 'node:module';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
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
    throw saveFailure(file, e);
  }
}

/**
 * `writeFileAtomic` without blocking the event loop (the same temp file, fsync and rename, through
 * the thread pool): for a server that saves while it answers others. Its temp file is per process,
 * so a caller must not run two writes of the same file at once (the sim's saver runs one at a time).
 */
export async function writeFileAtomicAsync(file: string, data: string, { durable = true } = {}): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    removeStaleTemps(file);
    // The folder is there but for the first write (or one removed meanwhile): made only then.
    const handle = await open(tmp, 'w', 0o600).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      return open(tmp, 'w', 0o600);
    });
    try {
      await handle.writeFile(data);
      if (durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {});
    throw saveFailure(file, e);
  }
}

/** A failed write as the user reads it (an error without a system code is passed on as it is). */
function saveFailure(file: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (!code) return e;
  const why = (e as Error).message.replace(/^\w+: /, '').replace(/, \w+(?: '.*')?$/, '');
  return new AcrTrustError(`cannot save ${file}: ${why} (${code}).`, {
    hint: 'Free some disk space or fix the folder\'s permissions, then run the same command again: what was saved before is intact.',
  });
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

/**
 * Whether a process with this pid is running (on this host). A zombie — killed, not yet reaped by
 * a parent that does not wait — is not running. On Linux from /proc (see processStat); elsewhere a
 * signal-0 probe.
 */
export function processAlive(pid: number): boolean {
  const stat = processStat(pid);
  if (stat !== 'unknown') return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/**
 * A process's state letter (R, S, D, T, Z = zombie, X = dead…) and start time (clock ticks since
 * boot) from /proc/<pid>/stat (proc(5), fields 3 and 22; fields are counted after the last `)`,
 * since the command name in parentheses may hold spaces and parentheses). Undefined: no such
 * process. 'unknown': no /proc on this system (not Linux), or it cannot be read.
 */
export function processStat(pid: number): { state: string; startTicks: number } | undefined | 'unknown' {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && (e as NodeJS.ErrnoException).code !== 'ESRCH') return 'unknown';
    try {
      readFileSync('/proc/self/stat');
      return undefined;
    } catch {
      return 'unknown';
    }
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '?', startTicks: Number(fields[19]) };
}

/**
 * The yaml library (answers files, task files), loaded on first use: `--help`, `steps` and the way
 * to the first question do without it.
 */
export const yaml = (): typeof import('yaml') => createRequire(import.meta.url)('yaml') as typeof import('yaml');

export function readJsonFile<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}
