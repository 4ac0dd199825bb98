/**
 * One process per workdir. The lock is a file holding the owner's pid and hostname, created
 * atomically (written to a temp file, then hard-linked into place, which fails if it exists). A
 * second process refuses with a message naming the owner; a lock whose owner is a dead process on
 * this host is taken over.
 */
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { AcrTrustError } from '../errors.js';
import { processAlive } from '../files.js';

interface LockOwner {
  pid: number;
  hostname: string;
  command?: string;
  since: string;
}

export interface Lock {
  readonly file: string;
  /** Whether a stale lock (dead owner) was taken over. */
  readonly tookOver?: LockOwner;
  release(): void;
}

export function acquireLock(file: string, command = ''): Lock {
  const me: LockOwner = { pid: process.pid, hostname: hostname(), command, since: new Date().toISOString() };
  let tookOver: LockOwner | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(file, me)) return lockHandle(file, me, tookOver);
    const owner = readOwner(file);
    if (owner === 'gone') continue; // released between our attempt and the read: try again
    if (owner && owner.hostname === me.hostname && !processAlive(owner.pid)) {
      tookOver = owner;
      removeIfUnchanged(file, owner);
      continue;
    }
    throw new AcrTrustError(
      owner
        ? `the workdir is in use by ${owner.command ? `\`acr-trust ${owner.command}\`, ` : ''}pid ${owner.pid} on ${owner.hostname} (since ${owner.since}).`
        : `the workdir is locked by ${file}, which cannot be read.`,
      {
        exitCode: 1,
        hint: `Wait for that process to finish, or use another --workdir. If it is not running any more, delete ${file}.`,
      },
    );
  }
  throw new AcrTrustError(`could not take the workdir lock ${file}: other processes keep taking it.`, { exitCode: 1, hint: 'Try again.' });
}

function tryCreate(file: string, owner: LockOwner): boolean {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(owner) + '\n', { mode: 0o600 });
  try {
    linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    unlinkSync(tmp);
  }
}

function readOwner(file: string): LockOwner | undefined | 'gone' {
  try {
    const o = JSON.parse(readFileSync(file, 'utf8')) as LockOwner;
    return typeof o.pid === 'number' && typeof o.hostname === 'string' ? o : undefined;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : undefined;
  }
}

function removeIfUnchanged(file: string, owner: LockOwner): void {
  const now = readOwner(file);
  if (now && now !== 'gone' && now.pid === owner.pid && now.since === owner.since) {
    try {
      unlinkSync(file);
    } catch {
      /* someone else removed it first */
    }
  }
}

function lockHandle(file: string, me: LockOwner, tookOver: LockOwner | undefined): Lock {
  let held = true;
  return {
    file,
    tookOver,
    release() {
      if (!held) return;
      held = false;
      removeIfUnchanged(file, me);
    },
  };
}
