/**
 * The workdir (`--workdir`, default `./.acr-trust`): everything acr-trust keeps between runs.
 *
 *   answers.yaml    every input, replayable with `--answers`
 *   state.json      per step: status, timestamps, outputs (see state.ts)
 *   sim-cloud.json  the embedded simulated Azure's state (`--target sim`)
 *   lock            the pid and host of the process using the workdir
 *
 * Every file is private to the user (0600, folder 0700) and written atomically.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { isAcrTrustError, usageError } from '../errors.js';
import { acquireLock, type Lock } from './lock.js';
import { freshState, StateStore, type CloudBinding } from './state.js';

export const DEFAULT_WORKDIR = '.acr-trust';

export interface WorkdirPaths {
  dir: string;
  answers: string;
  state: string;
  simCloud: string;
  lock: string;
}

export function workdirPaths(dir = DEFAULT_WORKDIR): WorkdirPaths {
  const abs = resolve(dir);
  return {
    dir: abs,
    answers: resolve(abs, 'answers.yaml'),
    state: resolve(abs, 'state.json'),
    simCloud: resolve(abs, 'sim-cloud.json'),
    lock: resolve(abs, 'lock'),
  };
}

export interface Workdir {
  paths: WorkdirPaths;
  store: StateStore;
  lock: Lock;
  /** With `startOver`: the folder the earlier workflow's files were moved to (itself a workdir). */
  earlier?: string;
  /** Releases the lock. Safe to call twice. */
  close(): void;
}

/**
 * Creates the workdir if needed, takes its lock, and loads the state (a corrupt state file is
 * exit 2 and the lock is released). `persist: false` (dry run) keeps state changes in memory.
 * `startOver` (`--new-workdir`): the workflow begins afresh — a real run first moves the earlier
 * files (state, answers, the embedded sim's cloud, the report) into `earlier-<time>/` inside the
 * workdir, which stays a workdir of its own (`acr-trust reset --workdir …/earlier-<time>` undoes
 * what that workflow changed); a dry run just starts from an empty state in memory.
 */
export function openWorkdir(dir: string | undefined, opts: { command: string; persist?: boolean; startOver?: boolean }): Workdir {
  const paths = workdirPaths(dir);
  makeWorkdir(paths.dir);
  const lock = takeLock(paths, opts.command);
  try {
    const persist = opts.persist ?? true;
    const earlier = opts.startOver && persist ? moveAside(paths) : undefined;
    const store = opts.startOver && !persist ? new StateStore(paths.state, freshState(), false) : StateStore.load(paths.state, { persist });
    return { paths, store, lock, earlier, close: () => lock.release() };
  } catch (e) {
    lock.release();
    throw e;
  }
}

/**
 * The cloud the workdir belongs to (see `CloudBinding`), read without taking the lock — the state
 * file is replaced whole, so a reader sees the old or the new one. Undefined when nothing is
 * recorded yet; a corrupt state file is exit 2.
 */
export function boundCloud(paths: WorkdirPaths): CloudBinding | undefined {
  if (!existsSync(paths.state)) return undefined;
  return StateStore.load(paths.state, { persist: false }).state.cloud;
}

/** The files a workflow leaves in its workdir (the lock stays: it is ours now). */
const WORKFLOW_FILES = /^(state\.json|answers\.yaml|report\.md|sim-cloud(\..+)?\.(json|pem))$/;

/** Moves the earlier workflow's files into `earlier-<time>/`; undefined when there were none. */
function moveAside(paths: WorkdirPaths): string | undefined {
  const files = readdirSync(paths.dir).filter((f) => WORKFLOW_FILES.test(f));
  if (files.length === 0) return undefined;
  const earlier = join(paths.dir, `earlier-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(earlier, { mode: 0o700 });
  for (const f of files) renameSync(join(paths.dir, f), join(earlier, basename(f)));
  return earlier;
}

/** The workdir's lock; a folder we may not write in (EACCES, a read-only file system) is exit 2. */
function takeLock(paths: WorkdirPaths, command: string): Lock {
  try {
    return acquireLock(paths.lock, command);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (isAcrTrustError(e) || !code) throw e;
    return refuse(paths.dir, code, 'use');
  }
}

const WHY: Record<string, string> = {
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'it is a file, not a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOENT: 'the file system does not allow a folder there',
  ENOSPC: 'the disk is full',
  ENAMETOOLONG: 'a name in the path is too long',
  ELOOP: 'the path loops through symbolic links',
};

/**
 * Creates the workdir (0700) and any missing parents, one folder at a time: Node's recursive
 * mkdir never returns under some pseudo file systems (/proc), and its errors name no cause.
 */
function makeWorkdir(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    let st;
    try {
      st = statSync(d, { throwIfNoEntry: false });
    } catch (e) {
      // ENOTDIR: a file further up; EACCES: a folder we may not look into.
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      if (code === 'ENOTDIR') continue;
      return refuse(dir, code);
    }
    if (st?.isDirectory()) break;
    if (st) return refuse(dir, d === dir ? 'EEXIST' : 'ENOTDIR');
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      mkdirSync(d, { mode: 0o700 });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      if (code !== 'EEXIST' || !statSync(d, { throwIfNoEntry: false })?.isDirectory()) refuse(dir, code);
    }
  }
}

function refuse(dir: string, code: string, verb = code === 'EEXIST' ? 'use' : 'create'): never {
  throw usageError(
    `cannot ${verb} the workdir ${dir}: ${WHY[code] ?? code} (${code}).`,
    'Give --workdir a folder you can write to (it is created if missing; default ./.acr-trust).',
  );
}
