/**
 * The floor for "time to the first question": a program that does only what any interactive
 * command line must — parse its arguments (commander) and draw one question (inquirer's select,
 * from its own package, as acr-trust imports it). bench/run.js times it in the same
 * pseudo-terminal as `acr-trust`, so the ratio between the two says what acr-trust adds, whatever
 * the machine.
 */
import { Command } from 'commander';

new Command('min-prompt').allowUnknownOption().allowExcessArguments().parse(process.argv);
const { default: select } = await import('@inquirer/select');
await select({
  message: 'Where should acr-trust run the workflow?',
  choices: [
    { value: 'sim', name: 'The simulated Azure' },
    { value: 'azure', name: 'Your Azure subscription' },
  ],
});
