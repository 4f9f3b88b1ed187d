/**
 * A loopback stand-in for the part of the AWS Secrets Manager JSON API (protocol `awsJson1_1`, `X-Amz-Target:
 * secretsmanager.<Operation>`) that the host's certificate-store client calls: GetSecretValue, PutSecretValue,
 * TagResource. AWS itself cannot run here; this keeps only what the client depends on: a secret created without a
 * value answers GetSecretValue with ResourceNotFoundException (as a Pulumi-created secret with no SecretVersion
 * does), errors carry `__type`, and any other ARN is not found. Requests are recorded (operation and secret id,
 * whether they were SigV4-signed) so a test can count what the client did.
 */
import { readFileSync } from "node:fs";
import { createServer, type RequestListener, type Server } from "node:http";
import { createServer as createTlsServer } from "node:https";
import { listenOn } from "./ports.ts";

export interface StandInSecret {
  value?: string;
  versions: number;
  readonly tags: Map<string, string>;
}

export interface SecretsManagerStandIn {
  /** http://127.0.0.1:<port> (the client's endpoint override). */
  readonly endpoint: string;
  /** The one secret it holds, by ARN. */
  readonly arn: string;
  readonly secret: StandInSecret;
  /** Every request: operation name, the SecretId it named, and whether it carried a SigV4 Authorization header. */
  readonly requests: { operation: string; secretId: unknown; signed: boolean }[];
  /** Answer every request with this error type (e.g. AccessDeniedException) until cleared (undefined). */
  failWith: string | undefined;
  stop(): Promise<void>;
}

export interface SecretsManagerOptions {
  /** The secret's ARN (default: one in eu-central-1). */
  readonly arn?: string;
  /** Where to listen (default 127.0.0.1, a free port). */
  readonly host?: string;
  readonly port?: number;
  /** Serve HTTPS with this certificate and key (PEM files), as under the real endpoint's name in the rehearsal. */
  readonly tls?: { readonly certificate: string; readonly key: string };
}

/** Starts the stand-in with one empty secret. */
export async function startSecretsManager(options: SecretsManagerOptions = {}): Promise<SecretsManagerStandIn> {
  const arn = options.arn ?? "arn:aws:secretsmanager:eu-central-1:123456789012:secret:jitsi-certificate-a1b2c3";
  const secret: StandInSecret = { versions: 0, tags: new Map() };
  const requests: SecretsManagerStandIn["requests"] = [];
  const state = { failWith: undefined as string | undefined };

  const listener: RequestListener = (request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (body += chunk));
    request.on("end", () => {
      const answer = (status: number, payload: unknown) => {
        response.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
        response.end(JSON.stringify(payload));
      };
      const fail = (type: string, message: string) => answer(400, { __type: type, message });
      const target = String(request.headers["x-amz-target"] ?? "");
      const operation = target.startsWith("secretsmanager.") ? target.slice("secretsmanager.".length) : target;
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(body || "{}") as Record<string, unknown>;
      } catch {
        fail("InvalidRequestException", "body is not JSON");
        return;
      }
      requests.push({ operation, secretId: input.SecretId, signed: /^AWS4-HMAC-SHA256 /.test(String(request.headers.authorization ?? "")) });
      if (state.failWith !== undefined) return fail(state.failWith, `stand-in answers ${state.failWith}`);
      if (input.SecretId !== arn) return fail("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
      switch (operation) {
        case "GetSecretValue":
          if (secret.value === undefined) {
            return fail("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT");
          }
          return answer(200, { ARN: arn, Name: "jitsi-certificate", SecretString: secret.value, VersionId: `v${String(secret.versions)}`, VersionStages: ["AWSCURRENT"] });
        case "PutSecretValue":
          if (typeof input.SecretString !== "string") return fail("InvalidParameterException", "SecretString is required");
          secret.value = input.SecretString;
          secret.versions += 1;
          return answer(200, { ARN: arn, Name: "jitsi-certificate", VersionId: `v${String(secret.versions)}`, VersionStages: ["AWSCURRENT"] });
        case "TagResource":
          for (const tag of (input.Tags as { Key: string; Value: string }[] | undefined) ?? []) secret.tags.set(tag.Key, tag.Value);
          return answer(200, {});
        default:
          return fail("UnknownOperationException", `the stand-in does not serve ${operation}`);
      }
    });
  };
  const server: Server =
    options.tls === undefined
      ? createServer(listener)
      : createTlsServer({ cert: readFileSync(options.tls.certificate), key: readFileSync(options.tls.key) }, listener);
  const host = options.host ?? "127.0.0.1";
  const port = await listenOn(server, host, options.port);
  return {
    endpoint: `${options.tls === undefined ? "http" : "https"}://${host}:${String(port)}`,
    arn,
    secret,
    requests,
    get failWith() {
      return state.failWith;
    },
    set failWith(type: string | undefined) {
      state.failWith = type;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
