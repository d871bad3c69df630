declare global {
  var lazarusTestSummary: string | undefined;
}

export default async function globalTeardown(): Promise<void> {
  await globalThis.lazarusTestServer?.stop();
  globalThis.lazarusTestServer = undefined;
  // Set by summary-reporter.js: the plain closing line, printed once when both tiers ran.
  if (globalThis.lazarusTestSummary) process.stderr.write(`\n${globalThis.lazarusTestSummary}\n`);
  globalThis.lazarusTestSummary = undefined;
}
