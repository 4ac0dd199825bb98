/**
 * The trainer's live board, as the sim serves it: `GET /room` (the page), `GET /room/events`
 * (server-sent events), all behind the board token `sim serve` prints.
 *
 * The sim only carries the board: what a row shows — each step's live check, the runs, the last
 * error — is composed outside src/sim (the CLI runs the wizard's own step checks through the real
 * SDK against this sim) and handed in with `publish(snapshot)` (the whole room, a `board` event) or
 * `publishRows` (only the rows that changed, a `rows` event). A page that connects gets the whole
 * room at once, then the changes. Nothing is loaded from
 * elsewhere: the page, its script and its styles are this file's.
 *
 * Sign-in: `/room?token=T` sets an HttpOnly, Secure, SameSite=Strict cookie scoped to `/room` and
 * redirects to `/room`, so the token leaves the address bar; the page and the events need the
 * cookie (or `Authorization: Bearer T`). Anything else gets 401 and a line saying what is needed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { BOARD_PAGE } from './page.js';

export const BOARD_COOKIE = 'acr_trust_board';

/** One learner's row. */
export interface BoardRow {
  learner: string;
  resourceGroup: string;
  registry: string;
  /** The task the checks looked at. */
  task: string;
  /** One cell per workflow step, in order. */
  cells: { step: string; status: 'done' | 'pending' | 'blocked' | 'error' | 'reversed'; text: string }[];
  /** The learner's task runs, newest first: id, status, and why it failed in words. */
  runs: { id: string; status: string; cause?: string }[];
  /** The last request of theirs the cloud refused. */
  lastError?: { at: string; method: string; path: string; status: number; error: string };
  /** When this row's last check began (ms since the epoch): it shows the cloud as of then or later. */
  checkedAt: number;
}

export interface BoardSnapshot {
  /** When it was published (ms since the epoch). */
  at: number;
  steps: { id: string; title: string }[];
  rows: BoardRow[];
}

/** Rows that changed since the last event (a `rows` event): the page replaces those rows. */
export interface BoardRowsUpdate {
  at: number;
  rows: BoardRow[];
}

export interface BoardHub {
  /** Sends `snapshot` to every open page (a `board` event) and keeps it for pages that connect later. */
  publish(snapshot: BoardSnapshot): void;
  /**
   * Sends only the rows that changed (a `rows` event, a few hundred bytes instead of the whole
   * room) and folds them into the kept snapshot, which a page that connects later gets whole.
   * Needs a snapshot published first.
   */
  publishRows(update: BoardRowsUpdate): void;
  /** True when it answered the request (a `/room` page or event stream). */
  serve(req: IncomingMessage, res: ServerResponse): boolean;
  /** Open event streams. */
  readonly clients: number;
  close(): void;
}

export function createBoardHub(token: () => string | undefined): BoardHub {
  /** The room as the pages have it, and its text (made when a page connects, not on every change). */
  let current: BoardSnapshot | undefined;
  let latestText: string | undefined;
  const latest = () => (current ? (latestText ??= JSON.stringify(current)) : undefined);
  const streams = new Set<ServerResponse>();
  const heartbeat = setInterval(() => {
    for (const s of streams) s.write(': keep-alive\n\n');
  }, 15_000).unref();

  const authorized = (req: IncomingMessage, given: string | undefined): boolean => {
    const expected = token();
    if (!expected) return false;
    const header = String(req.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
    const candidate = given ?? (header || cookie(req, BOARD_COOKIE) || '');
    return timingSafeEqual(createHash('sha256').update(candidate).digest(), createHash('sha256').update(expected).digest());
  };

  return {
    publish(snapshot) {
      current = snapshot;
      latestText = undefined;
      const text = latest();
      for (const s of streams) s.write(`event: board\ndata: ${text}\n\n`);
    },
    publishRows(update) {
      if (!current) throw new Error('publishRows before the first snapshot');
      const changed = new Map(update.rows.map((r) => [r.learner, r]));
      current = { ...current, at: update.at, rows: current.rows.map((r) => changed.get(r.learner) ?? r) };
      for (const r of update.rows) if (!current.rows.some((x) => x.learner === r.learner)) current.rows.push(r);
      latestText = undefined;
      const text = JSON.stringify(update);
      for (const s of streams) s.write(`event: rows\ndata: ${text}\n\n`);
    },
    get clients() {
      return streams.size;
    },
    close() {
      clearInterval(heartbeat);
      for (const s of streams) s.end();
      streams.clear();
    },
    serve(req, res) {
      const raw = req.url ?? '/';
      const q = raw.indexOf('?');
      const path = (q < 0 ? raw : raw.slice(0, q)).replace(/\/+$/, '');
      if (req.method !== 'GET' || (path !== '/room' && path !== '/room/events')) return false;
      const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
      const given = query.get('token') ?? undefined;
      const common = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };
      if (!authorized(req, given)) {
        res.writeHead(401, { ...common, 'content-type': 'text/plain; charset=utf-8' });
        res.end('The room board is the trainer\'s: open the address `acr-trust sim serve` printed (it carries the board token).\n');
        return true;
      }
      if (given !== undefined) {
        res.writeHead(303, { ...common, location: '/room', 'set-cookie': `${BOARD_COOKIE}=${encodeURIComponent(given)}; Path=/room; HttpOnly; Secure; SameSite=Strict` });
        res.end();
        return true;
      }
      if (path === '/room') {
        res.writeHead(200, {
          ...common,
          'content-type': 'text/html; charset=utf-8',
          // Everything is inline and from here; nothing may load from elsewhere.
          'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
        });
        res.end(BOARD_PAGE);
        return true;
      }
      res.writeHead(200, { ...common, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
      res.write('retry: 1000\n\n');
      const text = latest();
      if (text) res.write(`event: board\ndata: ${text}\n\n`);
      streams.add(res);
      req.on('close', () => streams.delete(res));
      return true;
    },
  };
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of String(req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) {
      try {
        return decodeURIComponent(v.join('='));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
