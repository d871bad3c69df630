/**
 * What Lambda's managed Node.js runtime does, in a few lines: the Runtime API loop that
 * loads the handler named by _HANDLER ("index.handler") from LAMBDA_TASK_ROOT, asks for
 * the next event, runs the handler and posts its result or its error. The Lambda stand-in
 * runs it under AWS's Runtime Interface Emulator: `aws-lambda-rie node lambda-bootstrap.js`.
 */
const { existsSync } = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const api = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime`;

async function loadHandler() {
  const [moduleName, exportName] = (process.env._HANDLER ?? 'index.handler').split('.');
  const root = process.env.LAMBDA_TASK_ROOT ?? process.cwd();
  const file = ['.mjs', '.js', '.cjs']
    .map((ext) => path.join(root, moduleName + ext))
    .find((candidate) => existsSync(candidate));
  if (!file) throw new Error(`handler module ${moduleName} not found in ${root}`);
  const loaded = await import(pathToFileURL(file).href);
  const handler = loaded[exportName] ?? loaded.default?.[exportName];
  if (typeof handler !== 'function') throw new Error(`${file} exports no function ${exportName}`);
  return handler;
}

function errorBody(err) {
  return JSON.stringify({ errorType: err?.name ?? 'Error', errorMessage: String(err?.message ?? err) });
}

async function main() {
  let handler;
  try {
    handler = await loadHandler();
  } catch (err) {
    await fetch(`${api}/init/error`, { method: 'POST', body: errorBody(err) });
    process.exit(1);
  }
  for (;;) {
    const next = await fetch(`${api}/invocation/next`);
    const id = next.headers.get('lambda-runtime-aws-request-id');
    const event = await next.json();
    try {
      const result = await handler(event, { awsRequestId: id });
      await fetch(`${api}/invocation/${id}/response`, {
        method: 'POST',
        body: JSON.stringify(result ?? null),
      });
    } catch (err) {
      await fetch(`${api}/invocation/${id}/error`, { method: 'POST', body: errorBody(err) });
    }
  }
}

void main();
