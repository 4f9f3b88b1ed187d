/**
 * The scripts the program runs on hosts (the files under infra/scripts/) and how they travel: read from this
 * checkout, shipped as the command text through a quoted heredoc, run as root with only named, non-secret
 * variables. Used by the host provisioning (provision.ts) and the bridge pool's user data (bridges/userData.ts).
 */
import { readFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";

/** Scripts the program runs on the signalling host (relative to infra/). */
export const SCRIPTS = {
  prepareHost: "scripts/prepare-host.sh",
  /** Only root may reach the instance metadata service (the role's credentials). Not on pool bridges (docs/deploy.md). */
  imdsRootOnly: "scripts/imds-root-only.sh",
  installJitsi: "scripts/install-jitsi.sh",
  fixLuaModules: "scripts/fix-lua-modules.sh",
  obtainCertificate: "scripts/obtain-certificate.sh",
  /** Not run by a step itself: its text is the stdin of obtainCertificate, which installs it (certificateStore.ts). */
  certificateStore: "scripts/certificate-store.py",
  installFile: "scripts/install-file.sh",
  restartService: "scripts/restart-service.sh",
  pruneDir: "scripts/prune-dir.sh",
  setXmppPasswords: "scripts/set-xmpp-passwords.sh",
  growRootFs: "scripts/grow-root-fs.sh",
  turnOff: "scripts/turn-off.sh",
  runRenewalHook: "scripts/run-renewal-hook.sh",
  installDiskMetric: "scripts/install-disk-metric.sh",
  /** Not run by a step itself: its text is the stdin of installDiskMetric, which installs it behind a timer. */
  diskMetric: "scripts/disk-metric.sh",
} as const;

/** Scripts the bridge pool's user data installs on each bridge instance (relative to infra/). */
export const BRIDGE_SCRIPTS = {
  boot: "scripts/bridge-boot.sh",
  identity: "scripts/bridge-identity.sh",
  drain: "scripts/bridge-drain.sh",
} as const;

const HEREDOC_END = "JITSI_SCRIPT_EOF";

/**
 * Text of one script under infra/.
 *
 * @param relativePath - e.g. `SCRIPTS.installJitsi` (`scripts/install-jitsi.sh`).
 * @returns the script's text, as shipped in the command or the user data.
 * @throws pulumi.RunError naming the file when it is missing from the checkout.
 */
export function scriptText(relativePath: string): string {
  try {
    return readFileSync(new URL(relativePath, import.meta.url), "utf8");
  } catch {
    throw new pulumi.RunError(`Provisioning script infra/${relativePath} is missing from this checkout.`);
  }
}

/**
 * The remote command line for a static script: the script body goes through a quoted heredoc into a temp file
 * (nothing is expanded), then runs as root with only the named, non-secret variables preserved. The SSH
 * session's stdin (where secrets travel) stays connected to the script.
 *
 * @param script - the script's text (scriptText).
 * @param envNames - names of the non-secret environment variables the script reads (`A-Z`, digits, `_`).
 * @returns the command line for @pulumi/command's `create`.
 * @throws Error when the script contains the heredoc end marker or a name is not a variable name.
 */
export function scriptCommand(script: string, envNames: readonly string[] = []): string {
  if (script.split("\n").includes(HEREDOC_END)) throw new Error(`script must not contain a line "${HEREDOC_END}"`);
  for (const name of envNames) {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) throw new Error(`invalid environment variable name ${name}`);
  }
  const preserve = envNames.length > 0 ? ` --preserve-env=${envNames.join(",")}` : "";
  return [
    "set -eu",
    'script=$(mktemp)',
    'trap \'rm -f "$script"\' EXIT',
    `cat >"$script" <<'${HEREDOC_END}'`,
    script.endsWith("\n") ? script.slice(0, -1) : script,
    HEREDOC_END,
    `sudo${preserve} bash "$script"`,
  ].join("\n");
}
