/**
 * The tmux harness itself: a fixed-size terminal on its own socket, keys in, screen and exit status out.
 */
import { describe, expect, it } from 'vitest';
import { startInTmux } from '../helpers/tmux.js';

describe('startInTmux', () => {
  it('runs a shell command in a terminal of the given size and reports its exit status', async () => {
    const t = await startInTmux(`printf 'size %s\\n' "$(stty size)"; read answer; echo "got $answer"; exit 3`, { cols: 90, rows: 30 });
    try {
      expect(await t.waitForText('size 30 90')).toBe('size 30 90');
      await t.type('hello world');
      await t.sendKeys('Enter');
      expect(await t.waitForExit()).toBe(3);
      expect(await t.screen()).toContain('got hello world');
    } finally {
      await t.kill();
      await t.kill(); // twice is fine
    }
  });

  it('runs an argv directly, passes the environment, and says what it waited for when it times out', async () => {
    const t = await startInTmux(['/bin/sh', '-c', 'echo "colour: ${NO_COLOR:-unset}"; sleep 30'], { env: { NO_COLOR: '1' } });
    try {
      await t.waitForText('colour: 1');
      await expect(t.waitForText(/never/, 200)).rejects.toThrow(/never showed \/never\/ within 200 ms; it shows:\ncolour: 1/);
      await t.sendKeys('C-c');
      expect(await t.waitForExit()).toBe(130); // ended by SIGINT
    } finally {
      await t.kill();
    }
  });
});
