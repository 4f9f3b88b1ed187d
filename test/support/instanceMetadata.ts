/**
 * A stand-in for the EC2 instance metadata service as IMDSv2 serves it (PUT /latest/api/token for a session token,
 * every GET must present it), with an instance role's temporary credentials under
 * /latest/meta-data/iam/security-credentials/<role>, the path boto3's default credential chain reads on EC2.
 */
import { createServer, type Server } from "node:http";
import { listenOn } from "./ports.ts";

export interface InstanceMetadataStandIn {
  readonly url: string;
  /** Every request, "METHOD /path". */
  readonly seen: string[];
  stop(): Promise<void>;
}

/** Starts it on `host`:`port` (default 127.0.0.1, a free port), serving `role`'s fake credentials. */
export async function startInstanceMetadata(options: { host?: string; port?: number; role?: string } = {}): Promise<InstanceMetadataStandIn> {
  const token = "imds-session-token";
  const role = options.role ?? "jitsi-instance-role";
  const credentialsPath = "/latest/meta-data/iam/security-credentials/";
  const seen: string[] = [];
  const server: Server = createServer((request, response) => {
    seen.push(`${String(request.method)} ${String(request.url)}`);
    if (request.method === "PUT" && request.url === "/latest/api/token" && request.headers["x-aws-ec2-metadata-token-ttl-seconds"] !== undefined) {
      response.end(token);
    } else if (request.method !== "GET" || request.headers["x-aws-ec2-metadata-token"] !== token) {
      response.writeHead(401).end();
    } else if (request.url === credentialsPath) {
      response.end(role);
    } else if (request.url === `${credentialsPath}${role}`) {
      response.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({
          Code: "Success",
          Type: "AWS-HMAC",
          AccessKeyId: "ASIASTANDIN000000000",
          SecretAccessKey: "standin-role-secret-access-key",
          Token: "standin-session-token",
          LastUpdated: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
          Expiration: new Date(Date.now() + 6 * 3_600_000).toISOString().replace(/\.\d+Z$/, "Z"),
        }),
      );
    } else {
      response.writeHead(404).end();
    }
  });
  const host = options.host ?? "127.0.0.1";
  const port = await listenOn(server, host, options.port);
  return {
    url: `http://${host}:${String(port)}`,
    seen,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
