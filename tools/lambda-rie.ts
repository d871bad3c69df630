/**
 * The AWS Lambda Runtime Interface Emulator: AWS's own program that runs a function's code
 * behind the Invoke API on one machine, without the Lambda control plane. The aws-lambda
 * tests run captured and redeployed code through it. It installs from the Go module proxy
 * like versitygw; the module has no tagged releases, so the pin is a pseudo-version.
 * `node dist/tools/lambda-rie.js` builds it if needed and prints its path.
 */
import { type GoTool, type Log, ensureGoTool } from './go-tool';

export const LAMBDA_RIE: GoTool = {
  name: 'aws-lambda-rie',
  module:
    'github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d',
  envVar: 'AWS_LAMBDA_RIE_PATH',
};

/** The aws-lambda-rie executable: found, or built once with Go. */
export function ensureLambdaRie(log: Log): Promise<string> {
  return ensureGoTool(LAMBDA_RIE, log);
}

if (require.main === module) {
  ensureLambdaRie((m) => console.error(m)).then(
    (file) => console.log(file),
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
