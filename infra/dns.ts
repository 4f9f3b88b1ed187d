/**
 * The public name: one Route53 A record, domain → Elastic IP. Written by Pulumi (not from inside the instance),
 * so `pulumi destroy` removes it and the host needs no Route53 permissions.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { turnHostname } from "jitsi-jwt-token/shared";
import type { HostedZoneRef } from "./jitsiServerArgs.ts";

export interface JitsiDnsArgs {
  readonly domain: string;
  readonly hostedZone: HostedZoneRef;
  readonly publicIp: pulumi.Input<string>;
  /** Also `turn.<domain>` → the same address (TURN over TLS on 443 is routed by that name). Default false. */
  readonly turn?: boolean;
}

/** Short enough that a re-created Elastic IP is picked up quickly, long enough not to matter for load. */
export const RECORD_TTL_SECONDS = 300;

/**
 * The deployment's public name (`jitsi:index:JitsiDns`): one Route53 A record `domain → publicIp` in the looked-up
 * public zone, TTL `RECORD_TTL_SECONDS` (300 s). The lookup fails the preview if the zone is missing or private.
 */
export class JitsiDns extends pulumi.ComponentResource {
  readonly record: aws.route53.Record;
  /** `turn.<domain>`; undefined when TURN is off. */
  readonly turnRecord: aws.route53.Record | undefined;
  readonly zoneId: pulumi.Output<string>;

  constructor(name: string, args: JitsiDnsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jitsi:index:JitsiDns", name, {}, opts);

    // Looking the zone up (also when given by id) fails the preview early if it does not exist or is private.
    const zone = aws.route53.getZoneOutput(
      "zoneId" in args.hostedZone
        ? { zoneId: args.hostedZone.zoneId }
        : { name: args.hostedZone.zoneName, privateZone: false },
      { parent: this },
    );
    this.zoneId = zone.zoneId;

    this.record = new aws.route53.Record(
      `${name}-a`,
      {
        zoneId: zone.zoneId,
        name: args.domain,
        type: aws.route53.RecordType.A,
        ttl: RECORD_TTL_SECONDS,
        records: [args.publicIp],
        // A record already there for the domain (an earlier server, a parking page) is taken over instead of
        // failing the create: the domain was configured for this deployment (issue 9, defect 8).
        allowOverwrite: true,
      },
      { parent: this },
    );

    this.turnRecord =
      args.turn === true
        ? new aws.route53.Record(
            `${name}-turn-a`,
            {
              zoneId: zone.zoneId,
              name: turnHostname(args.domain),
              type: aws.route53.RecordType.A,
              ttl: RECORD_TTL_SECONDS,
              records: [args.publicIp],
              // Taken over like the domain's own record.
              allowOverwrite: true,
            },
            { parent: this },
          )
        : undefined;

    this.registerOutputs({ fqdn: this.record.fqdn });
  }
}
