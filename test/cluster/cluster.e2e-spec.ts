import { formatReport } from '../../scripts/cluster/report';
import { runCluster } from '../../scripts/cluster/run-cluster';
import { PUSHPIN_INSTALL_HINT, pushpinInstalled } from '../harness/pushpin';

/**
 * `npm run cluster`, short: 3 instances of the bundled server, 2 Pushpins, a
 * Postgres primary and replica, clients on every path, publishers on every
 * instance, and the faults compressed into 20 s (an instance killed and
 * started again, each Pushpin restarted, the replica stopped and started).
 */
describe('a simulated cluster', () => {
  it('delivers every acknowledged event to every subscribed client once, in order, through the faults', async () => {
    if (!pushpinInstalled()) throw new Error(PUSHPIN_INSTALL_HINT);
    const report = await runCluster({
      durationMs: 20_000,
      clients: 15,
      channels: 6,
      ratePerInstance: 30,
    });
    const text = formatReport(report);
    console.log(text);
    expect(report.check.violations).toEqual([]);
    // The faults did something: streams broke and moved, events went through.
    expect(report.acknowledged).toBeGreaterThan(500);
    expect(report.faults.find((f) => f.name.startsWith('pushpin-1'))?.breaks).toBeGreaterThan(0);
    expect(report.faults.find((f) => f.name.startsWith('app-2 killed'))?.breaks).toBeGreaterThan(0);
    expect(report.replicaPageReads).toBeGreaterThan(0);
  }, 110_000);
});
