/**
 * One process per workdir.
 *
 * The lock is a file naming its owner: pid, hostname, the command, when it was taken, and — on
 * Linux — the owner's identity beyond its pid: the kernel's boot id and the process's start time
 * (field 22 of /proc/<pid>/stat, clock ticks since boot). It is created atomically: the record is
 * written to a temp file, then hard-linked into place, which fails if a lock exists.
 *
 * A second process refuses with a message naming the owner, unless the owner is gone. Gone means
 * any of: no process with that pid; a zombie (state Z or X — killed, not yet reaped by a parent
 * that does not wait); a process with that pid that started at another time or in another boot
 * (the pid was reused, e.g. after a reboot or in a container). A lock from another host is never
 * judged (its processes cannot be seen from here): it is refused with how to remove it.
 *
 * Taking over a stale lock is race-free: to delete one particular stale record, a process must
 * first create `<lock>.takeover-<hash of that record>` (the same atomic link), then check that the
 * lock still holds that very record. Every record carries a random nonce, so a fresh lock never
 * looks like the stale one. Of several processes that found the same stale lock, exactly one
 * deletes it; all of them then compete for the lock again by the atomic link, and exactly one
 * wins. A takeover file whose creator died is itself a stale lock, broken the same way.
 */
import { createHash, randomBytes } from 'node:crypto';
import { linkSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { AcrTrustError } from '../errors.js';
import { processAlive, processStat } from '../files.js';

interface LockOwner {
  pid: number;
  hostname: string;
  command?: string;
  /** ISO time the lock was taken. */
  since: string;
  /** /proc/sys/kernel/random/boot_id of the owner's boot (Linux). */
  bootId?: string;
  /** The owner's start time in clock ticks since boot, /proc/<pid>/stat field 22 (Linux). */
  startTicks?: number;
  /** Random: no two lock records are ever equal. */
  nonce?: string;
}

export interface Lock {
  readonly file: string;
  /** Whether a stale lock (its owner gone) was taken over, and whose it was. */
  readonly tookOver?: LockOwner;
  release(): void;
}

/** How many times a process looks again when others keep changing the lock under it. */
const ATTEMPTS = 40;
/** How deep a chain of dead takeover files is broken (each level needs a crash inside the last). */
const MAX_TAKEOVER_DEPTH = 3;

/**
 * Takes the lock `file` for this process, or throws AcrTrustError (exit code 1) naming the owner.
 * `command` is shown to the next process that finds the lock ("in use by `acr-trust run`").
 */
export function acquireLock(file: string, command = ''): Lock {
  const me = newRecord(command);
  let tookOver: LockOwner | undefined;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (tryCreate(file, me.text)) {
      sweepLeftovers(file);
      return lockHandle(file, me.text, tookOver);
    }
    const seen = readText(file);
    if (seen === undefined) continue; // released between our attempt and the read: try again
    const owner = parseOwner(seen);
    if (!owner) throw unreadable(file);
    if (ownerState(owner) !== 'gone') throw inUse(file, owner);
    if (breakStale(file, seen, 0)) tookOver = owner;
    else sleepSync(5 + Math.floor(Math.random() * 20)); // another process is breaking it: look again soon
  }
  throw new AcrTrustError(`could not take the workdir lock ${file}: other processes keep taking it.`, { exitCode: 1, hint: 'Try again.' });
}

// ---- the owner's identity -------------------------------------------------------------------------

function newRecord(command: string): { owner: LockOwner; text: string } {
  const self = processStat(process.pid);
  const owner: LockOwner = {
    pid: process.pid,
    hostname: hostname(),
    command,
    since: new Date().toISOString(),
    ...(bootId() && self && self !== 'unknown' ? { bootId: bootId(), startTicks: self.startTicks } : {}),
    nonce: randomBytes(8).toString('hex'),
  };
  return { owner, text: JSON.stringify(owner) + '\n' };
}

let cachedBootId: string | undefined | null = null;
function bootId(): string | undefined {
  if (cachedBootId === null) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
    } catch {
      cachedBootId = undefined;
    }
  }
  return cachedBootId;
}

/**
 * 'running': the owner is alive. 'gone': it is not (no such process, a zombie, or the pid now
 * belongs to a process that started at another time). 'elsewhere': another host's process, which
 * cannot be judged from here.
 */
function ownerState(owner: LockOwner): 'running' | 'gone' | 'elsewhere' {
  if (owner.hostname !== hostname()) return 'elsewhere';
  if (owner.bootId && bootId() && owner.bootId !== bootId()) return 'gone'; // the machine rebooted since
  const stat = processStat(owner.pid);
  if (stat === undefined) return 'gone';
  if (stat === 'unknown') return processAlive(owner.pid) ? 'running' : 'gone';
  if (stat.state === 'Z' || stat.state === 'X') return 'gone'; // killed, waiting for its parent to reap it
  // A record without a start time (an older acr-trust, or no /proc) is judged by its pid alone.
  if (owner.startTicks !== undefined && stat.startTicks !== owner.startTicks) return 'gone'; // the pid was reused
  return 'running';
}

// ---- files ------------------------------------------------------------------------------------------

/** Creates `file` holding `text`, atomically; false when it exists. */
function tryCreate(file: string, text: string): boolean {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
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

/** The file's text, or undefined when it does not exist; unreadable: an AcrTrustError naming it. */
function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw unreadable(file);
  }
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as LockOwner;
    return o && typeof o.pid === 'number' && Number.isInteger(o.pid) && o.pid > 0 && typeof o.hostname === 'string' ? o : undefined;
  } catch {
    return undefined;
  }
}

function takeoverFile(file: string, staleText: string): string {
  return `${file}.takeover-${createHash('sha256').update(staleText).digest('hex').slice(0, 16)}`;
}

/**
 * Deletes the lock `file` if it still holds exactly `staleText`, with the exclusive right to do so
 * (its takeover file). False when another process holds that right (it is deleting it now).
 */
function breakStale(file: string, staleText: string, depth: number): boolean {
  const guard = takeoverFile(file, staleText);
  const mine = newRecord('takeover').text;
  if (!tryCreate(guard, mine)) {
    // Another process is taking it over — unless that process died in the act.
    const seen = readText(guard);
    const taker = seen === undefined ? undefined : parseOwner(seen);
    if (seen !== undefined && depth < MAX_TAKEOVER_DEPTH && (!taker || ownerState(taker) === 'gone')) breakStale(guard, seen, depth + 1);
    return false;
  }
  try {
    // Only a holder of this guard deletes this record, so it cannot change between read and unlink.
    if (readText(file) === staleText) unlinkSync(file);
    return true;
  } finally {
    rmSync(guard, { force: true });
  }
}

/**
 * Once the lock is ours: takeover files and link temps that dead processes left beside it. Any
 * takeover file now names a record that is no longer the lock, so none is still needed.
 */
function sweepLeftovers(file: string): void {
  const dir = dirname(file);
  const prefix = `${basename(file)}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    const tempPid = Number(/(?:^|\.)(\d+)\.tmp$/.exec(rest)?.[1]);
    const leftover = tempPid ? tempPid !== process.pid && !processAlive(tempPid) : /^takeover-[0-9a-f]+$/.test(rest);
    if (leftover) rmSync(join(dir, name), { force: true });
  }
}

function lockHandle(file: string, text: string, tookOver: LockOwner | undefined): Lock {
  let held = true;
  return {
    file,
    tookOver,
    release() {
      if (!held) return;
      held = false;
      try {
        if (readText(file) === text) unlinkSync(file);
      } catch {
        /* already gone, or the workdir with it */
      }
    },
  };
}

function inUse(file: string, owner: LockOwner): AcrTrustError {
  return new AcrTrustError(`the workdir is in use by ${owner.command ? `\`acr-trust ${owner.command}\`, ` : ''}pid ${owner.pid} on ${owner.hostname} (since ${owner.since}).`, {
    exitCode: 1,
    hint: `Wait for that process to finish, or use another --workdir. If it is not running any more, delete ${file}.`,
  });
}

function unreadable(file: string): AcrTrustError {
  return new AcrTrustError(`the workdir is locked by ${file}, which cannot be read.`, {
    exitCode: 1,
    hint: `Wait for that process to finish, or use another --workdir. If it is not running any more, delete ${file}.`,
  });
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}
