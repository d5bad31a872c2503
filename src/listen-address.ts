/**
 * Listen addresses: what a bind setting may hold, and whether an address is loopback (reachable
 * from this host only). The collector refuses plaintext gRPC on any other (collectorBindProblem).
 */
import net from "node:net";

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

const LOOPBACK = new net.BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6"); // IPv4-mapped addresses (::ffff:127.0.0.1) match the IPv4 rule

/** Why `host` cannot be a bind address (undefined: it can): an IP address or a DNS host name. */
export function hostProblem(host: string): string | undefined {
  if (net.isIP(host) !== 0) return undefined;
  if (/^\[.*\]$/.test(host)) return `an IPv6 address goes without brackets, got ${JSON.stringify(host)}`;
  if (host.length <= 253 && host.split(".").every((label) => LABEL.test(label))) return undefined;
  return `must be an IP address or a host name, got ${JSON.stringify(host)}`;
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped) or `localhost`; 0.0.0.0, :: and every other name are not. */
export function isLoopback(host: string): boolean {
  if (host.toLowerCase() === "localhost") return true;
  const family = net.isIP(host);
  if (family === 0) return false;
  return LOOPBACK.check(host, family === 4 ? "ipv4" : "ipv6");
}

/** `host:port` for a gRPC bind: IPv6 addresses in brackets. */
export function hostPort(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Why the collector must not start on this bind (undefined: it may). Plaintext gRPC off loopback
 * lets anyone who reaches the port send the collector made-up exchanges, which become captures and
 * then ground truth; and Envoy's copy of every request and response body crosses the network in
 * the clear. TLS, or an operator's explicit word that the network is trusted, lifts the refusal.
 */
export function collectorBindProblem(c: {
  readonly hosts: { readonly collector: string };
  readonly collectorTls: { readonly cert: string };
  readonly collectorInsecure: boolean;
}): string | undefined {
  const host = c.hosts.collector;
  if (isLoopback(host) || c.collectorTls.cert !== "" || c.collectorInsecure) return undefined;
  return (
    `MODELTAP_COLLECTOR_HOST: the collector would serve plaintext gRPC on ${host}, which is not loopback: ` +
    "anyone who reaches the port could send it made-up exchanges (stored as captures), and request and " +
    "response bodies would cross the network unencrypted. Serve TLS (MODELTAP_COLLECTOR_TLS_CERT and " +
    "MODELTAP_COLLECTOR_TLS_KEY), bind to loopback, or set MODELTAP_COLLECTOR_INSECURE=1 if the network " +
    "between Envoy and the collector is trusted (the host comes from MODELTAP_LISTEN_HOST unless " +
    "MODELTAP_COLLECTOR_HOST is set)"
  );
}
