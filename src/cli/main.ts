/**
 * The command line. Commands are declared here (cheap) and implemented in `commands/*.ts`, which
 * are imported only when a command runs, so `--help` never loads the Azure SDKs, listr2 or prompts.
 *
 * One error policy for the whole tool: an AcrTrustError prints its message and hint and exits with
 * its code; anything else — thrown to the top, or escaping as an unhandled rejection or an uncaught
 * exception — is explained by its kind when it is the machine or the network failing (a socket
 * reset, a certificate, a 503, a full disk: failures.ts), and otherwise is a bug, said in one line
 * with a request to report it. Never a stack trace (`ACR_TRUST_DEBUG=1` shows it).
 */
import { Command, CommanderError, Option } from 'commander';
import { isAcrTrustError, usageError, type AcrTrustError } from '../errors.js';
import { bugReport, explainStray } from './failures.js';
import { jsonLinesWritten } from './render/json.js';

/** --workdir, --yes and --no-color, accepted by every command. */
function common(cmd: Command): Command {
  return cmd
    .option('--workdir <dir>', 'where answers, state and the embedded sim are kept', '.acr-trust')
    .option('-y, --yes', 'run without asking: every answer comes from flags, --answers, the environment or defaults')
    .option('--no-color', 'plain lines without colours or the live step list (as NO_COLOR=1)');
}

/** Where the workflow runs and with which answers. */
function target(cmd: Command): Command {
  return cmd
    .addOption(new Option('--target <target>', 'where to run: the simulated Azure or real Azure (default azure)').choices(['sim', 'azure']))
    .addOption(
      new Option(
        '--goal <goal>',
        'setup: stop after run-task, the task reaching the registry through the bypass (for a registry in use); demo: go on to the negative test, trusted services off (default on the sim; required with --target azure --yes)',
      ).choices(['setup', 'demo']),
    )
    .option('--answers <file>', 'answers file (YAML or JSON) with the keys below in camelCase, e.g. resourceGroup')
    .option('--subscription <id>', 'subscription id (default: AZURE_SUBSCRIPTION_ID, then the az CLI default)')
    .option('--resource-group <name>', 'resource group of the registries')
    .option('--registry <name>', 'the registry that owns the task')
    .option('--target-registry <name>', 'the network-restricted registry the task must reach (default: --registry)')
    .option('--task <name>', 'task name (default acr-trust-task)')
    .option('--role <role>', 'role for the task identity: AcrPush (default), AcrPull, "Container Registry Repository Writer", "Container Registry Repository Reader"')
    .option('--task-file <file>', 'your own task YAML instead of the built-in one')
    .option('--agent-pool <name>', "reach the closed registry through a dedicated agent pool of the task's registry (created if missing) instead of the bypass: no bypass switch is turned on (Premium; billed per instance hour)")
    .option('--agent-pool-subnet <id>', "with --agent-pool: the subnet's resource id; its virtual network must reach the target registry's private endpoint")
    .addOption(new Option('--agent-pool-tier <tier>', 'with --agent-pool: S1 (default), S2, S3 or I6').choices(['S1', 'S2', 'S3', 'I6']))
    .option('--sim-scenario <name>', 'with --target sim, how to seed a new simulated cloud: default, basic-sku, abac, two-registries, no-role-write, read-only, task-switch-only, tasks-not-allowed, private-endpoint (closed but for a private endpoint, for --agent-pool)')
    .addOption(new Option('--sim-speed <speed>', 'with --target sim: instant, or realistic (the default in a terminal)').choices(['instant', 'realistic']))
    .option('--endpoint <url>', "Resource Manager endpoint instead of Azure's: with --target sim, a `sim serve` running elsewhere (with --ca); with --target azure, any ARM endpoint, signed in to as Azure (e.g. a sim, with `sim az-env`'s variables)")
    .option('--ca <file>', "with --endpoint: the CA certificate to trust for it (a sim's caCertFile)")
    .option('--join <file>', "sign in to a training room as yourself with the join file your trainer handed out (learnerNN.json): the room's endpoint, CA and your identity; your resource group and registry are the default answers")
    .option('--learner <nn>', "on the machine that serves a training room: sign in as that learner (as in learner07: 07), as with the join file `sim serve` wrote for them")
    .option('--state <file>', 'with --learner: the room\'s `sim serve --state` file (default: ./.acr-trust/sim-cloud.json)')
    .option('--use-device-code', 'with --target azure: sign in with a code entered in a browser anywhere (for a terminal where `az login` and the usual credentials do not work)')
    .option('--cloud <name>', "with --target azure: the Azure cloud — AzureCloud, AzureChinaCloud, AzureUSGovernment or one registered with `az cloud register` (default: the Azure CLI's active cloud, `az cloud show`)");
}

const json = (cmd: Command) => cmd.option('--json', 'one JSON object per line on stdout, nothing else');

export function buildProgram(): Command {
  const program = new Command('acr-trust')
    .description('Let an ACR Task reach a network-restricted Azure Container Registry through the trusted-services bypass, step by step.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  json(target(common(program.command('run', { isDefault: true }))))
    .description('Walk the workflow: check each step, change what is pending, wait until it holds (the default command).')
    .option('--from <step>', 'start at this step (re-checks it and the ones after it)')
    .option('--only <step>', 'run just this step')
    .option('--until <step>', 'stop after this step')
    .option('--dry-run', 'check every step and show what would change and the az commands; change nothing')
    .option('--explain', "before each step, say why it exists, the az command and the portal path; after it, the evidence")
    .option('--pause', 'wait for Enter before each step (for presenters; needs a terminal)')
    .option('--new-workdir', "start a new workflow in the workdir even if it belongs to another cloud (the earlier files move to <workdir>/earlier-<time>/)")
    .action(async (opts) => (await import('./commands/run.js')).run(opts));

  json(target(common(program.command('status'))))
    .description('Show each step as recorded in the workdir and as it is live.')
    .action(async (opts) => (await import('./commands/status.js')).status(opts));

  json(target(common(program.command('verify'))))
    .description("Check every step live: exit 0 when all hold, 3 when one does not.")
    .action(async (opts) => (await import('./commands/verify.js')).verify(opts));

  json(target(common(program.command('reset'))))
    .description("Undo the workflow: restore the registry's network settings exactly as preflight recorded them, delete the role assignment and the task acr-trust created (a task you had gets back its identity, login mode and credentials); says for each step what it found live.")
    .action(async (opts) => (await import('./commands/reset.js')).reset(opts));

  target(common(program.command('export')))
    .description('Print a shell script of the equivalent az commands for the recorded answers.')
    .action(async (opts) => (await import('./commands/export.js')).exportScript(opts));

  json(common(program.command('steps')))
    .description('List the steps in order, with why each one exists.')
    .action(async (opts) => (await import('./commands/steps.js')).steps(opts));

  json(target(common(program.command('doctor'))))
    .description("Why does my task fail? Read the task, its registries, roles and last runs; decide every registry access it makes (exit 0 healthy, 3 a problem found, 1 something could not be read).")
    .option('--run-id <id>', 'explain this run (a task run, or a quick run from az acr build/run) instead of the task as it is now')
    .option('--run', 'then schedule one run of the task and follow it, to confirm (asks first in a terminal)')
    .option('--fix', "then apply the fixes as the workflow's own steps, recorded in the workdir so `reset` undoes them (after showing them)")
    .action(async (opts) => (await import('./commands/doctor.js')).doctor(opts));

  const sim = program.command('sim').description('The simulated Azure: an HTTPS stand-in for Azure Resource Manager that needs no account.');
  sim
    .command('serve')
    .description('Start the simulated Azure and print one JSON line with its endpoint and CA certificate once it accepts connections.')
    .option('--port <n>', 'port to listen on (default: an ephemeral port)')
    .option('--host <address>', 'address to listen on: 127.0.0.1 (default, this machine only), 0.0.0.0 or :: (every interface, for a room), or one address')
    .option('--san <name>', 'another host name or address the certificate must cover (repeatable); with --host 0.0.0.0 this machine\'s addresses are covered already', (v: string, all: string[] = []) => [...all, v])
    .option('--state <file>', 'the cloud state file (default: ./.acr-trust/sim-cloud.json)')
    .option('--scenario <name>', 'how to seed a new cloud: default, basic-sku, abac, two-registries, no-role-write, read-only, task-switch-only, tasks-not-allowed, private-endpoint, classroom (a training room: one resource group and registry per learner)')
    .option('--learners <n>', 'with --scenario classroom: how many learners to seed, 1–500 (default 30)')
    .addOption(new Option('--speed <speed>', 'instant (tests) or realistic (demos)').choices(['instant', 'realistic']))
    .option('--faults <spec>', 'inject faults, e.g. "429=0.2,500=0.1,drop=0.05,latency=20,seed=7,routes=registries.*"')
    .option('--cloud <name>', "the Azure cloud a new sim stands for: AzureCloud, AzureChinaCloud, AzureUSGovernment or one registered in the Azure CLI (its registries' login-server suffix, its token audience); default: the sim's own (AcrTrustSim)")
    .action(async (opts) => (await import('./commands/sim.js')).serve(opts));
  sim
    .command('show')
    .description("Print the simulated cloud's resources as ARM returns them, and the request log.")
    .option('--state <file>', 'the cloud state file (default: ./.acr-trust/sim-cloud.json)')
    .option('--json', 'print JSON')
    .action(async (opts) => (await import('./commands/sim.js')).show(opts));
  sim
    .command('reset-learner')
    .description("Put one learner's resource group of a running classroom back as it was seeded; the other learners are not touched.")
    .requiredOption('--learner <nn>', 'the learner, as in learner07: 07')
    .option('--state <file>', 'the running `sim serve --state` (default: ./.acr-trust/sim-cloud.json)')
    .action(async (opts) => (await import('./commands/sim.js')).resetLearnerCommand(opts));
  sim
    .command('az-env')
    .description('Prepare an Azure CLI configuration of its own for a running sim and print the export lines a shell needs: eval "$(acr-trust sim az-env)".')
    .option('--state <file>', 'the running `sim serve --state` to use (default: ./.acr-trust/sim-cloud.json)')
    .option('--endpoint <url>', 'instead of --state: the endpoint `sim serve` printed (with --ca)')
    .option('--ca <file>', "with --endpoint: the sim's CA certificate file")
    .option('--join <file>', 'sign in to a training room with the join file your trainer handed out (learnerNN.json)')
    .option('--learner <nn>', "with --state of a classroom: sign in as that learner (default: the trainer)")
    .option('--dir <dir>', "the CLI's configuration folder, its AZURE_CONFIG_DIR (default: ./.acr-trust/azure-cli; never ~/.azure)")
    .option('--json', 'print the variables as JSON instead of export lines')
    .action(async (opts) => (await import('./commands/az-env.js')).azEnv(opts));

  return program;
}

export async function main(argv: string[]): Promise<void> {
  keepGoingWhenThePipeCloses();
  endStrayFailuresPlainly();
  const program = buildProgram();
  try {
    checkCommand(program, argv.slice(2));
    await program.parseAsync(argv);
  } catch (e) {
    process.exitCode = exitCodeFor(e, argv.includes('--json'));
    // Ctrl-C: leave now, even if a cloud request is still in flight (it is idempotent; state is saved).
    if (process.exitCode === 130) process.exit(130);
  }
}

/**
 * `acr-trust … --json | head`: once the reader has gone, the rest of the output is dropped instead
 * of crashing with EPIPE. The command still finishes its work and saves its state: stopping a
 * cloud change half-way because a pager closed would be worse.
 */
function keepGoingWhenThePipeCloses(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      stream.write = (() => true) as typeof stream.write;
    });
  }
}

/**
 * An error nobody awaited (a rejection in a background task of a library, an 'error' event without
 * a listener) would make Node print its stack and exit: it ends the command as any other error
 * does — its message, the exit code — at once (the state on disk is written whole or not at all).
 */
function endStrayFailuresPlainly(): void {
  let ending = false;
  const end = (e: unknown) => {
    if (ending) return;
    ending = true;
    process.exit(exitCodeFor(e));
  };
  process.on('unhandledRejection', end);
  process.on('uncaughtException', end);
}

/**
 * `run` is the default command, so commander hands it any word it does not know and says "too many
 * arguments for 'run'". The first word that is neither an option nor an option's value must be a
 * command; anything else is named as an unknown command, with the list of them.
 */
function checkCommand(program: Command, args: string[]): void {
  const commands = program.commands.map((c) => c.name());
  const word = firstOperand(program, args);
  if (word === undefined || commands.includes(word) || word === 'help') return;
  const list = commands.map((c) => (c === 'run' ? 'run (the default)' : c)).join(', ');
  throw usageError(`unknown command "${word}"`, `Commands: ${list}, help. \`acr-trust --help\` says what each does.`);
}

/** The first word on the command line that is not an option or an option's value (as `run` reads them). */
function firstOperand(program: Command, args: string[]): string | undefined {
  const options = [...program.options, ...(program.commands.find((c) => c.name() === 'run')?.options ?? [])];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return args[i + 1];
    if (!arg.startsWith('-') || arg === '-') return arg;
    const option = options.find((o) => o.long === arg || o.short === arg);
    if (option?.required) i++; // `--workdir DIR`: DIR is the option's value
  }
  return undefined;
}

/**
 * Says what ended the command on stderr and returns its exit code. With `--json`, a command that
 * ended before its renderer wrote a line also says it on stdout, as one `error` event, so a script
 * reading the last line always finds the outcome.
 */
function exitCodeFor(e: unknown, json = false): number {
  const jsonError = (exitCode: number, message: string, hint?: string, code?: string) => {
    if (json && jsonLinesWritten === 0 && exitCode !== 0) {
      process.stdout.write(JSON.stringify({ event: 'error', exitCode, message, ...(hint ? { hint } : {}), ...(code ? { code } : {}) }) + '\n');
    }
    return exitCode;
  };
  if (e instanceof CommanderError) {
    // Commander has already printed help, the version or its own usage message.
    return jsonError(e.exitCode === 0 ? 0 : 2, e.message.replace(/^error: /, ''));
  }
  const known: AcrTrustError | undefined = isAcrTrustError(e) ? e : explainStray(e);
  if (known) {
    jsonError(known.exitCode, known.message, known.hint, known.code);
    process.stderr.write(`acr-trust: ${known.message}\n`);
    if (known.hint) process.stderr.write(`  ${known.hint}\n`);
    if (known.options.link) process.stderr.write(`  see ${known.options.link}\n`);
    return known.exitCode;
  }
  process.stderr.write(bugReport(e));
  return jsonError(1, 'unexpected error (a bug): see stderr');
}
