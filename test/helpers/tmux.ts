/**
 * A real terminal for tests: a command in a detached tmux session of a fixed size, on its own
 * server socket (`tmux -L <unique>`), so tests never touch a user's tmux and run in parallel.
 *
 *   const term = await startInTmux(['node', 'bin/acr-trust.js', '--target', 'sim'], { cwd: dir });
 *   await term.waitForText(/Where should acr-trust run/);
 *   await term.sendKeys('Down', 'Enter');
 *   expect(await term.waitForExit()).toBe(0);
 *   await term.kill();
 *
 * The pane stays after the command exits (remain-on-exit), so its last screen can still be read.
 * The exit status is recorded by a small wrapper script rather than read from tmux, which may mark
 * a pane dead well before it reaps the program.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TmuxOptions {
  /** Terminal size; default 120x40. */
  cols?: number;
  rows?: number;
  cwd?: string;
  /** Variables added to the command's environment. */
  env?: Record<string, string>;
}

export interface TmuxTerminal {
  /** The tmux server's socket name (`tmux -L <socket>`), for debugging by hand. */
  readonly socket: string;
  /** Sends tmux key names: 'Enter', 'Down', 'C-c', 'Escape', or a single character. */
  sendKeys(...keys: string[]): Promise<void>;
  /** Types text literally (no key-name lookup). */
  type(text: string): Promise<void>;
  /** The visible screen, as plain text (trailing spaces trimmed). */
  screen(): Promise<string>;
  /** Everything the terminal showed: the lines scrolled off the top, then the screen. (tmux scrolls
   *  the screen by a line when it reports the command's end, so read short outputs here.) */
  scrollback(): Promise<string>;
  /** Polls the screen until it matches; returns that screen, or throws with the last one seen. */
  waitForText(pattern: RegExp | string, timeoutMs?: number): Promise<string>;
  /** Waits until the command has exited; returns its exit status (128 + n when signal n ended it). */
  waitForExit(timeoutMs?: number): Promise<number>;
  /** Ends the session and its server. Safe to call twice. */
  kill(): Promise<void>;
}

let counter = 0;

/** Starts `command` (an argv, or a line for /bin/sh -c) in a new terminal. */
export async function startInTmux(command: string | readonly string[], opts: TmuxOptions = {}): Promise<TmuxTerminal> {
  const socket = `acr-trust-test-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
  const dir = mkdtempSync(join(tmpdir(), 'acr-trust-tmux-'));
  const conf = join(dir, 'tmux.conf');
  // Read before the session starts, so the pane already remains when a quick command exits.
  writeFileSync(conf, ['set -g remain-on-exit on', 'set -g status off', 'set -g default-shell /bin/sh', 'set -g history-limit 5000', ''].join('\n'));
  // Runs the program in a subshell (which gets Ctrl-C as usual), then writes its status. The
  // wrapper's own trap only keeps it alive to do so.
  const wrapper = join(dir, 'run.sh');
  const statusFile = join(dir, 'status');
  writeFileSync(wrapper, `trap : INT\n( "$@" )\ncode=$?\necho "$code" > ${shellQuote(statusFile)}\nexit "$code"\n`);

  const env = { ...process.env };
  delete env.TMUX; // a test run inside tmux must not talk to the user's server
  const tmux = async (...args: string[]) => (await run('tmux', ['-L', socket, '-f', conf, ...args], { env })).stdout;

  const envFlags = Object.entries(opts.env ?? {}).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  await tmux(
    'new-session', '-d', '-s', 'main',
    '-x', String(opts.cols ?? 120), '-y', String(opts.rows ?? 40),
    ...(opts.cwd ? ['-c', opts.cwd] : []),
    ...envFlags,
    '/bin/sh', wrapper, ...(typeof command === 'string' ? ['/bin/sh', '-c', command] : command),
  );

  let killed = false;

  const self: TmuxTerminal = {
    socket,
    async sendKeys(...keys) {
      await tmux('send-keys', '-t', 'main', ...keys);
    },
    async type(text) {
      await tmux('send-keys', '-t', 'main', '-l', text);
    },
    async screen() {
      // -J: a line the terminal wrapped reads as the one line the program printed (a long temp
      // path must not split what a test matches); trailing blanks go, as on screen.
      return (await tmux('capture-pane', '-p', '-J', '-t', 'main')).replace(/[ \t]+$/gm, '').replace(/\s+$/, '');
    },
    async scrollback() {
      return (await tmux('capture-pane', '-p', '-J', '-S', '-', '-t', 'main')).replace(/[ \t]+$/gm, '').replace(/\s+$/, '');
    },
    async waitForText(pattern, timeoutMs = 10_000) {
      const matches = (s: string) => (typeof pattern === 'string' ? s.includes(pattern) : pattern.test(s));
      const deadline = Date.now() + timeoutMs;
      let last = '';
      for (;;) {
        last = await self.screen();
        if (matches(last)) return last;
        if (Date.now() > deadline) throw new Error(`the terminal never showed ${String(pattern)} within ${timeoutMs} ms; it shows:\n${last}`);
        await sleep(50);
      }
    },
    async waitForExit(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const status = existsSync(statusFile) ? readFileSync(statusFile, 'utf8').trim() : '';
        if (status) return Number(status);
        if (Date.now() > deadline) throw new Error(`the command did not exit within ${timeoutMs} ms; the screen:\n${await self.screen()}`);
        await sleep(50);
      }
    },
    async kill() {
      if (killed) return;
      killed = true;
      const socketPath = (await tmux('display-message', '-p', '#{socket_path}').catch(() => '')).trim();
      await tmux('kill-server').catch(() => undefined); // already gone
      if (socketPath) rmSync(socketPath, { force: true }); // tmux may leave it behind
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return self;
}

/** Quotes a word for the shell tmux runs the command with. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9._\-/:=@]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
