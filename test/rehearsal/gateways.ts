import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The settings that name a payment gateway's API (domain/config.ts): where gateway calls go. */
export const GATEWAY_BASE_SETTINGS = ['TOSS_API_BASE', 'PORTONE_API_BASE', 'BUILTIN_PG_API_BASE'] as const;

export interface GatewayCall {
  caller: string;
  setting: string;
  /** Where the call would have gone in AWS: the template's base and the path. */
  url: string;
  method: string;
  /** Whether the function's network lets it reach that address (NAT route, 443 out). */
  allowed: boolean;
}

/**
 * Stands in for the payment gateways: each function gets its own local address per gateway setting
 * in place of the template's base, so a call is known by who made it and where it would have gone.
 * A call the function's network would not let out in AWS (no NAT route, or a port its security
 * group does not open) is recorded as not allowed and its connection dropped, as the VPC would;
 * an allowed one is answered 404 in the gateways' error shapes: the rehearsal checks that a
 * function reaches its gateway, not what the gateway then says (the simulator's tests do that).
 */
export class GatewayStandIn {
  readonly calls: GatewayCall[] = [];
  private readonly servers: Server[] = [];

  /** A local base standing in for `templateBase`, for one function and one setting. */
  async baseFor(caller: string, setting: string, templateBase: string, allowed: boolean): Promise<string> {
    const server = createServer((request, response) => {
      request.resume();
      this.calls.push({
        caller,
        setting,
        url: `${templateBase.replace(/\/$/, '')}${request.url}`,
        method: String(request.method),
        allowed,
      });
      if (!allowed) {
        request.socket.destroy();
        return;
      }
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          // Toss's and PortOne's error bodies, in one
          code: 'NOT_FOUND_PAYMENT',
          type: 'PAYMENT_NOT_FOUND',
          message: 'The rehearsal stands in for the gateway and knows no payment',
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop() {
    await Promise.all(this.servers.map((server) => new Promise((resolve) => server.close(resolve))));
    this.servers.length = 0;
  }
}

/** The TCP port a URL connects to. */
export function portOf(url: string): number {
  const parsed = new URL(url);
  if (parsed.port) return Number(parsed.port);
  return parsed.protocol === 'https:' ? 443 : 80;
}
