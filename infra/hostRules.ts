/**
 * Combinations of settings the host cannot serve yet (pure; no Pulumi types).
 *
 * RS256 with a Let's Encrypt staging certificate: Prosody fetches the public keys from `asap_key_server`, which
 * the renderer points at this host's own HTTPS site (templates/files/prosody.ts asapKeyServerUrl), and Prosody
 * 0.12's HTTP client verifies the server certificate (net/http.lua), which a staging certificate fails — so every
 * join would be refused. Refused by key until the key directory is also served on a loopback-only plain-HTTP
 * listener for Prosody (issue 9, defect 8).
 */

/** One problem: the unqualified config key and what is allowed. */
export interface HostRuleProblem {
  readonly key: "letsEncryptStaging";
  readonly message: string;
}

/**
 * @param settings the already validated token algorithm and staging switch
 * @returns the problems (empty when the combination works on the host)
 */
export function hostRuleProblems(settings: { readonly tokenAlgorithm?: string; readonly letsEncryptStaging?: boolean }): HostRuleProblem[] {
  if (settings.tokenAlgorithm === "RS256" && settings.letsEncryptStaging === true) {
    return [
      {
        key: "letsEncryptStaging",
        message:
          "must be false with jitsi:tokenAlgorithm RS256: Prosody fetches the public keys over HTTPS from this host and " +
          "verifies its certificate, which a staging certificate fails (every join would be refused); use HS256 to try staging",
      },
    ];
  }
  return [];
}
