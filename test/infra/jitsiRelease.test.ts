/** The jitsiVersion rule: release shape, and the minimum that can ship the Prosody modules the config loads. */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { EXAMPLE_JITSI_VERSION, jitsiReleaseProblems, MINIMUM_JITSI_RELEASE } from "../../infra/jitsiRelease.ts";

describe("jitsiReleaseProblems", () => {
  it.each(["2.0.11031-1", "2.0.11146-1", "2.0.11248-1", "2.0.11248-2", "2.1.100-1", "3.0.1-1"])("accepts %s", (v) => {
    expect(jitsiReleaseProblems(v)).toEqual([]);
  });

  it.each(["2.0.11030-1", "2.0.10184-1", "2.0.10590-1", "1.0.8960-1"])("refuses %s, saying what the minimum rests on", (v) => {
    const [message] = jitsiReleaseProblems(v);
    expect(message).toContain(`must be ${MINIMUM_JITSI_RELEASE.version} or newer`);
    expect(message).toContain("mod_token_affiliation");
    expect(message).toContain(`got "${v}"`);
  });

  it.each(["2.0.11248", "latest", "2.0.11248-1; reboot", "2.0.x-1", ""])("refuses the non-release %j", (v) => {
    expect(jitsiReleaseProblems(v)[0]).toMatch(/must be a jitsi-meet release version like 2\.0\.11248-1/);
  });

  it("orders releases as dpkg does for every boundary the rule draws", () => {
    // dpkg is the authority on Debian version order; the rule's numeric comparison must agree with it.
    const dpkgLess = (a: string, b: string) => {
      try {
        execFileSync("dpkg", ["--compare-versions", a, "lt", b]);
        return true;
      } catch {
        return false;
      }
    };
    for (const v of ["2.0.9999-1", "2.0.11030-1", "2.0.11031-1", "2.0.11248-1", "2.0.100000-1", "10.0.1-1"]) {
      expect(jitsiReleaseProblems(v).length > 0, v).toBe(dpkgLess(v, MINIMUM_JITSI_RELEASE.version));
    }
    expect(jitsiReleaseProblems(EXAMPLE_JITSI_VERSION)).toEqual([]);
  });
});
