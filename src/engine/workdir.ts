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
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { acquireLock, type Lock } from './lock.js';
import { StateStore } from './state.js';

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
  /** Releases the lock. Safe to call twice. */
  close(): void;
}

/**
 * Creates the workdir if needed, takes its lock, and loads the state (a corrupt state file is
 * exit 2 and the lock is released). `persist: false` (dry run) keeps state changes in memory.
 */
export function openWorkdir(dir: string | undefined, opts: { command: string; persist?: boolean }): Workdir {
  const paths = workdirPaths(dir);
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  const lock = acquireLock(paths.lock, opts.command);
  try {
    const store = StateStore.load(paths.state, { persist: opts.persist });
    return { paths, store, lock, close: () => lock.release() };
  } catch (e) {
    lock.release();
    throw e;
  }
}
