/**
 * One HTTP request on a connection of its own. A Worker redeployed in place restarts its
 * sockets, so a kept-alive connection from before the deploy fails the next request
 * ("other side closed"); a probe after a deploy must never reuse one.
 */
import http from 'node:http';

export interface HttpAnswer {
  status: number;
  body: string;
}

export function httpCall(
  url: string | URL,
  options: { method?: string; body?: string; signal?: AbortSignal } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method: options.method ?? 'GET', agent: false, signal: options.signal },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}
