import { formatReport } from './report';
import { runCluster } from './run-cluster';

/**
 * `npm run cluster -- --duration=SECONDS [--clients=N] [--channels=N]
 * [--rate=EVENTS_PER_SECOND_PER_INSTANCE] [--forget-positions]`: the
 * simulated cluster, with its faults, and the checker's verdict. Exits 1 on
 * any violation.
 */
async function main(): Promise<void> {
  const args = readArguments(process.argv.slice(2));
  const started = Date.now();
  const report = await runCluster({
    durationMs: args.duration * 1000,
    clients: args.clients,
    channels: args.channels,
    ratePerInstance: args.rate,
    forgetPositions: args.forgetPositions,
    log: (line) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${line}`),
  });
  console.log(formatReport(report));
  process.exitCode = report.check.violations.length === 0 ? 0 : 1;
}

function readArguments(argv: readonly string[]) {
  const args = { duration: 60, clients: 30, channels: 8, rate: 100, forgetPositions: false };
  for (const arg of argv) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    const [name, value] = [match?.[1], match?.[2]];
    if (name === 'forget-positions' && value === undefined) args.forgetPositions = true;
    else if (name === 'duration' || name === 'clients' || name === 'channels' || name === 'rate') {
      const number = Number(value);
      if (!value || !Number.isInteger(number) || number < 1) {
        throw new Error(`--${name} must be a whole number of at least 1, got "${value ?? ''}"`);
      }
      args[name] = number;
    } else {
      throw new Error(
        `Unknown argument ${arg}; use --duration=SECONDS --clients=N --channels=N --rate=N --forget-positions`,
      );
    }
  }
  return args;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
