/** A tiny in-memory world for engine tests: named counters that steps set, with a write log. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineEvent } from '../../src/engine/events.js';
import type { Step } from '../../src/engine/step.js';

export interface CounterWorld {
  values: Record<string, number>;
  writes: string[];
}

export function counterWorld(values: Record<string, number> = {}): CounterWorld {
  return { values: { ...values }, writes: [] };
}

/** A step that makes `values[name] === want`. */
export function setCounter(name: string, want = 1, extra: Partial<Step<CounterWorld>> = {}): Step<CounterWorld> {
  return {
    id: `set-${name}`,
    title: `Set ${name} to ${want}`,
    why: `Because ${name} must be ${want}.`,
    az: () => [`counter set ${name} ${want}`],
    async check({ world }) {
      return world.values[name] === want
        ? { status: 'done', evidence: `${name} = ${want}` }
        : { status: 'pending', change: `set ${name} from ${world.values[name] ?? 'unset'} to ${want}` };
    },
    async apply({ world }) {
      world.writes.push(`set ${name}`);
      world.values[name] = want;
    },
    async undo({ world }) {
      if (world.values[name] === undefined) return { changed: false, evidence: `${name} is unset: nothing to undo` };
      world.writes.push(`unset ${name}`);
      delete world.values[name];
      return { changed: true, evidence: `unset ${name}` };
    },
    ...extra,
  };
}

export function tempDir(prefix = 'acr-trust-engine-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function collect(): { events: EngineEvent[]; emit: (e: EngineEvent) => void } {
  const events: EngineEvent[] = [];
  return { events, emit: (e) => events.push(e) };
}
