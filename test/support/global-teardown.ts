declare global {
  var lazarusTestSummary: string | undefined;
}

export default async function globalTeardown(): Promise<void> {
  await globalThis.lazarusTestServer?.stop();
  // Set by summary-reporter.js: the plain closing line.
  if (globalThis.lazarusTestSummary) process.stderr.write(`\n${globalThis.lazarusTestSummary}\n`);
}
