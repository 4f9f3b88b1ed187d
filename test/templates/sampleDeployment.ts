/** A valid Deployment for template tests; override any field. */
import type { Deployment } from "../../templates/deployment.ts";

export function sampleDeployment(overrides: Partial<Deployment> = {}): Deployment {
  return {
    domain: "meet.example.com",
    auth: { algorithm: "HS256", appId: "jitsi-app", appSecret: "s3cret-app-secret-0123456789abcdef" },
    guests: true,
    network: { privateIp: "10.0.1.23", publicIp: "203.0.113.45" },
    accounts: { focusPassword: "focus-pass-0123456789", jvbPassword: "jvb-pass-0123456789" },
    localVideobridge: true,
    letsEncryptEmail: "ops@example.com",
    ...overrides,
  };
}

/** Strings that break naive templating in HOCON, nginx, shell and Lua. */
export const HOSTILE_VALUES = [
  'a"b',
  "a'b",
  "line\nbreak",
  "cr\rlf",
  "tab\there",
  "]]",
  "]=]",
  "${HOME}",
  "${?HOME}",
  "a;b",
  "back\\slash",
  "trailing\\",
  "}",
  "{",
  "# comment",
  "// comment",
  "include \"x\"",
  "ünïcødé ☃ 😀",
  "\u2028\u2029",
  "nul\u0000byte",
  "del\u007f",
  "$(id)",
  "`id`",
] as const;
