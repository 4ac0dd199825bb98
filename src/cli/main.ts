/**
 * The command line. Commands are declared here (cheap) and implemented in `commands/*.ts`, which
 * are imported only when a command runs, so `--help` never loads the Azure SDKs, listr2 or prompts.
 *
 * One error policy for the whole tool: an AcrTrustError prints its message and hint and exits with
 * its code; anything else is a bug and prints its stack with a request to report it.
 */
import { Command, CommanderError, Option } from 'commander';
import { isAcrTrustError } from '../errors.js';

export function buildProgram(): Command {
  const program = new Command('acr-trust')
    .description('Let an ACR Task reach a network-restricted Azure Container Registry through the trusted-services bypass, step by step.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  const sim = program.command('sim').description('The simulated Azure: an HTTPS stand-in for Azure Resource Manager that needs no account.');
  sim
    .command('serve')
    .description('Start the simulated Azure and print one JSON line with its endpoint and CA certificate once it accepts connections.')
    .option('--port <n>', 'port to listen on (default: an ephemeral port)')
    .option('--state <file>', 'the cloud state file (default: ./.acr-trust/sim-cloud.json)')
    .option('--scenario <name>', 'how to seed a new cloud: default, basic-sku, abac, two-registries, no-role-write')
    .addOption(new Option('--speed <speed>', 'instant (tests) or realistic (demos)').choices(['instant', 'realistic']))
    .option('--faults <spec>', 'inject faults, e.g. "429=0.2,500=0.1,drop=0.05,latency=20,seed=7,routes=registries.*"')
    .action(async (opts) => (await import('./commands/sim.js')).serve(opts));
  sim
    .command('show')
    .description("Print the simulated cloud's resources as ARM returns them, and the request log.")
    .option('--state <file>', 'the cloud state file (default: ./.acr-trust/sim-cloud.json)')
    .option('--json', 'print JSON')
    .action(async (opts) => (await import('./commands/sim.js')).show(opts));

  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    process.exitCode = exitCodeFor(e);
  }
}

function exitCodeFor(e: unknown): number {
  if (e instanceof CommanderError) {
    // Commander has already printed help, the version or its own usage message.
    return e.exitCode === 0 ? 0 : 2;
  }
  if (isAcrTrustError(e)) {
    process.stderr.write(`acr-trust: ${e.message}\n`);
    if (e.hint) process.stderr.write(`  ${e.hint}\n`);
    return e.exitCode;
  }
  const err = e as Error;
  process.stderr.write(`acr-trust: unexpected error — this is a bug, please report it.\n${err?.stack ?? String(e)}\n`);
  return 1;
}
