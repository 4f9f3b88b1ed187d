/**
 * The one derivation of the renderer's input from a deployment's settled settings. `JitsiServer` applies it to
 * the resolved secrets and addresses inside `pulumi.all(...).apply`; the render command applies it to the
 * stack's settings with placeholders. Pure and free of Pulumi values, so both paths render the same Deployment.
 */
import type { Deployment } from "../templates/deployment.ts";
import type { SettledJitsiServerArgs } from "./jitsiServerArgs.ts";

/** The settings the renderer reads: known before anything is created. */
export interface RendererSettings extends Pick<SettledJitsiServerArgs, "domain" | "token" | "guests" | "localVideobridge" | "turn"> {
  readonly letsEncrypt: Pick<SettledJitsiServerArgs["letsEncrypt"], "email">;
}

/** Values only known at deployment (addresses) or that are secrets. */
export interface RendererRuntimeValues {
  /** The HS256 signing secret; undefined for RS256 (nothing to sign with on the host). */
  readonly appSecret: string | undefined;
  readonly focusPassword: string;
  readonly jvbPassword: string;
  /** The instance's private IPv4 address (the videobridge's NAT mapping). */
  readonly privateIp: string;
  /** The Elastic IP. */
  readonly publicIp: string;
  /** coturn's shared secret and the VPC's CIDR blocks (primary, secondary); undefined when TURN is off. */
  readonly turn?: { readonly secret: string; readonly vpcCidr: string; readonly vpcSecondaryCidrs?: readonly string[] };
}

/**
 * Builds the renderer's input.
 *
 * @param settings - settled settings (`settleJitsiServerArgs`), or any object with those fields.
 * @param values - deployment-time values: secrets and addresses.
 * @returns the `Deployment` `renderFiles` validates and renders.
 */
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
    ...(settings.turn
      ? { turn: { secret: values.turn?.secret ?? "", vpcCidr: values.turn?.vpcCidr ?? "", vpcSecondaryCidrs: values.turn?.vpcSecondaryCidrs ?? [] } }
      : {}),
    letsEncryptEmail: settings.letsEncrypt.email,
  };
}
