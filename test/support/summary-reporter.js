/**
 * Records one plain line, `tests: N passed, N failed, N skipped`, that any CI can read
 * whatever test runner it knows. The global teardown prints it, after jest's own
 * summary, so it is the run's closing line.
 */
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const { numPassedTests, numFailedTests, numPendingTests, numRuntimeErrorTestSuites } = results;
    const failed = numFailedTests + numRuntimeErrorTestSuites;
    globalThis.lazarusTestSummary = `tests: ${numPassedTests} passed, ${failed} failed, ${numPendingTests} skipped`;
  }
}
module.exports = SummaryReporter;
