import { createHmac } from 'node:crypto';

/**
 * Standard Webhooks v1 signing: `v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`, keyed
 * by the base64-decoded part of the `whsec_` secret. Several secrets (during a rotation) give
 * several space-separated signatures; receivers accept the message if any one verifies.
 */
export function signatureHeader(
  secrets: readonly string[],
  id: string,
  timestamp: number,
  body: string,
): string {
  return secrets
    .map((secret) => {
      const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
      const mac = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
      return `v1,${mac}`;
    })
    .join(' ');
}

/** The three headers of one attempt. `webhook-id` is the same for every attempt of a message. */
export function webhookHeaders(
  secrets: readonly string[],
  id: string,
  timestamp: number,
  body: string,
): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatureHeader(secrets, id, timestamp, body),
  };
}
