/**
 * The one mapping from a deployment's settings to the renderer's input. `JitsiServer` applies it to the resolved
 * secrets and addresses inside `pulumi.all(...).apply`; `render --stack` applies it to placeholders. Pure and free
 * of Pulumi types, so both paths render from the same Deployment shape.
 */
import type { Deployment } from "../templates/deployment.ts";

/** Token settings as the operator gives them; an HS256 secret is a deployment-time value (see below). */
export type RendererTokenSettings =
  | { readonly algorithm: "HS256"; readonly appId: string }
  | { readonly algorithm: "RS256"; readonly appId: string; readonly publicKeys: Readonly<Record<string, string>> };

/** Plain settings: known before anything is created. */
export interface RendererSettings {
  readonly domain: string;
  readonly token: RendererTokenSettings;
  readonly guests: boolean;
  /** Whether the signalling node keeps its own videobridge. */
  readonly localVideobridge: boolean;
  /** coturn on the server (jitsi:turn); absent: off. */
  readonly turn?: boolean;
  readonly letsEncryptEmail?: string;
}

/** Values only known at deployment (addresses) or that are secrets. */
export interface RendererRuntimeValues {
  /** The HS256 signing secret; undefined for RS256 (nothing to sign with on the host). */
  readonly appSecret: string | undefined;
  readonly focusPassword: string;
  readonly jvbPassword: string;
  readonly privateIp: string;
  readonly publicIp: string;
  /** coturn's shared secret and the VPC's CIDR; undefined when TURN is off. */
  readonly turn?: { readonly secret: string; readonly vpcCidr: string };
}

export function rendererInput(settings: RendererSettings, values: RendererRuntimeValues): Deployment {
  const token = settings.token;
  return {
    domain: settings.domain,
    auth:
      token.algorithm === "HS256"
        ? // An empty secret fails the renderer's validation by name rather than rendering a guessable one.
          { algorithm: "HS256", appId: token.appId, appSecret: values.appSecret ?? "" }
        : { algorithm: "RS256", appId: token.appId, publicKeys: token.publicKeys },
    guests: settings.guests,
    network: { privateIp: values.privateIp, publicIp: values.publicIp },
    accounts: { focusPassword: values.focusPassword, jvbPassword: values.jvbPassword },
    localVideobridge: settings.localVideobridge,
    // Missing values fail the renderer's validation by name rather than rendering an empty secret.
    ...(settings.turn === true ? { turn: { secret: values.turn?.secret ?? "", vpcCidr: values.turn?.vpcCidr ?? "" } } : {}),
    letsEncryptEmail: settings.letsEncryptEmail,
  };
}
