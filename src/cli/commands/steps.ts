/** `acr-trust steps`: the workflow's steps in order, each with why it exists. Reads no cloud. */
import { workflow } from '../../../steps/index.js';
import { chooseRenderer, type OutputOptions } from '../render/index.js';

export async function steps(opts: OutputOptions): Promise<void> {
  const render = await chooseRenderer(opts);
  for (const [i, s] of workflow.entries()) {
    render.emit({ type: 'step-info', index: i + 1, id: s.id, title: s.title, why: s.why, portal: s.portal, risky: s.risky });
  }
}
