import type { RunReport } from './run-cluster';

/** The run's figures and verdict, as printed by `npm run cluster` and the CI suite. */
export function formatReport(report: RunReport): string {
  const { check, latencyMs } = report;
  const lines = [
    `Acknowledged publishes: ${report.acknowledged} events; failed publishes: ${report.failedPublishes}; ` +
      `stored without an acknowledgement: ${check.unacknowledgedStored}`,
    `Publish rate: ${Math.round(report.publishRate.achieved)} events/s acknowledged ` +
      `(aimed at ${report.publishRate.target}); request to 2xx: p50 ${report.publishLatencyMs.p50} ms, ` +
      `p99 ${report.publishLatencyMs.p99} ms`,
    ...Object.entries(report.failureReasons).map(
      ([reason, count]) => `  ${String(count).padStart(5)} failed: ${reason}`,
    ),
    `Delivered: ${check.deliveries} events to clients in ${(report.elapsedMs / 1000).toFixed(1)} s, ` +
      `${Math.round(report.deliveredPerSecond)} events/s (caught up ${report.drainMs} ms after the last publish)`,
    `Publish to receive: p50 ${latencyMs.p50} ms, p99 ${latencyMs.p99} ms, max ${latencyMs.max} ms`,
    `Clients by first path: ${JSON.stringify(report.clientsByPath)}; breaks by path: ${JSON.stringify(report.breaksByPath)}`,
    `Page reads the replica answered: ${report.replicaPageReads}`,
    'Faults (connection breaks and failed publishes from each until the next began):',
    ...report.faults.map(
      (fault) =>
        `  ${(fault.at / 1000).toFixed(1).padStart(6)} s  ${fault.name.padEnd(36)} ` +
        `down ${String(fault.downMs).padStart(5)} ms  breaks ${String(fault.breaks).padStart(4)}  ` +
        `failed publishes ${fault.failedPublishes}`,
    ),
  ];
  const shown = check.violations.slice(0, 30);
  lines.push(
    check.violations.length === 0
      ? 'PASS: every acknowledged event reached every subscribed client once, in order'
      : `FAIL: ${check.violations.length} violations${check.violations.length > shown.length ? ` (first ${shown.length})` : ''}:`,
    ...shown.map((violation) => `  ${violation}`),
  );
  return lines.join('\n');
}
