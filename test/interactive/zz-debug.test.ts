import { render } from '@inquirer/testing';
import { input } from '@inquirer/prompts';
import { it } from 'vitest';
it('x', async () => {
  const r = await render(input, { message: 'one' });
  r.events.type('my-reg');
  await new Promise((res) => setTimeout(res, 50));
  console.log(JSON.stringify(r.getScreen()));
  r.events.keypress('backspace');
  await new Promise((res) => setTimeout(res, 50));
  console.log('after keypress', JSON.stringify(r.getScreen()));
  r.input.write('\x7f');
  await new Promise((res) => setTimeout(res, 50));
  console.log('after write', JSON.stringify(r.getScreen()));
  r.events.keypress('enter');
  console.log(await r.answer);
});
