/**
 * The policy pack entry: `pulumi preview --policy-pack infra/policy` (or `up`) loads this file. Constructing a
 * `PolicyPack` starts the policy server, so nothing but the Pulumi CLI imports it; the policies themselves are a
 * plain array in policies.ts, which the tests call directly.
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies.ts";

new PolicyPack("jitsi-jwt-pulumi", { policies, description: "Deployment policies of jitsi-jwt-pulumi: ports, IMDSv2, encryption, no plain secret." });
