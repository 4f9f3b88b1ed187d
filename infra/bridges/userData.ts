/**
 * What each bridge instance of the pool receives as user data: the pool env file, the rendered jvb.conf and the
 * boot, identity and drain scripts (infra/scripts/bridge-*.sh), as one cloud-config. Pure.
 */
import { hostPaths, PORTS, type ServiceName } from "jitsi-jwt-token/shared";
import { BRIDGE_ENV, renderBridgeJvbConf } from "../../templates/files/jvb.ts";
import { BRIDGE_SCRIPTS, scriptText } from "../scripts.ts";

/** The bridge's systemd unit, one of the shared service names (a typo fails to compile). */
const BRIDGE_SERVICE: ServiceName = "jitsi-videobridge2";

/** Where user data puts the pool's files on each instance. */
export const BRIDGE_INSTANCE_PATHS = {
  poolEnv: "/etc/jitsi-bridge/pool.env",
  stagedJvbConf: "/etc/jitsi-bridge/jvb.conf",
  bootScript: "/usr/local/sbin/jitsi-bridge-boot",
  identityScript: "/usr/local/sbin/jitsi-bridge-identity",
  drainScript: "/usr/local/sbin/jitsi-bridge-drain",
  /** tmpfs: the password never lands on the instance's disk. */
  identityEnv: "/run/jitsi-bridge/identity.env",
} as const;

/** Name of the termination hook; the drain script completes it. */
export const DRAIN_HOOK_NAME = "drain-videobridge";
/**
 * Launch hook (issue 9, defect 7): a new bridge stays out of service until bridge-boot.sh completes it with
 * CONTINUE once its XMPP client is connected; a failed boot says ABANDON, silence times out to ABANDON, and the
 * group replaces the instance. The bound covers apt (lock waits included) plus the script's 300 s XMPP wait.
 */
export const LAUNCH_HOOK_NAME = "boot-videobridge";
/** Heartbeat timeout of the launch hook, in seconds. */
export const LAUNCH_HOOK_SECONDS = 1200;

/**
 * The pool bridge's jvb.conf, as the renderer makes it (it turns on the REST shutdown the drain script uses).
 *
 * @param domain - the deployment's public domain (the XMPP domain).
 * @param xmppHost - the signalling node's private IPv4 address, where the bridge logs in (TCP 5222).
 * @returns the file's text; the per-instance values are `${BRIDGE_ENV.*}` substitutions filled at boot.
 */
export function poolBridgeJvbConf(domain: string, xmppHost: string): string {
  return renderBridgeJvbConf({ domain, xmppHost, xmppPort: PORTS.xmppClient });
}

/** Jitsi's apt repository and signing key, as the handbook's quick start sets them up. */
const JITSI_APT = { repo: "https://download.jitsi.org", keyUrl: "https://download.jitsi.org/jitsi-key.gpg.key" } as const;

/** EC2 rejects user data over 16 KiB (before base64). */
const USER_DATA_LIMIT = 16 * 1024;

/** Shell-safe `KEY='value'` lines; values are validated names, ids and paths, never secrets. */
function envFile(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([key, value]) => {
      if (/['\n]/.test(value)) throw new Error(`pool env value for ${key} holds a quote or line break`);
      return `${key}='${value}'\n`;
    })
    .join("");
}

/** Plain values the boot, identity and drain scripts read from the pool env file. */
export interface BridgeUserDataInput {
  readonly domain: string;
  readonly jitsiVersion: string;
  readonly jvbConf: string;
  readonly passwordParameter: string;
  readonly asgName: string;
  readonly drainTimeoutSeconds: number;
}

/**
 * The instance user data: a cloud-config (JSON is valid YAML) that writes the pool env, the rendered jvb.conf and
 * the three scripts, then runs the boot script. Pure, so tests can read exactly what an instance receives.
 *
 * @param input - plain, validated values only: no secret ever reaches user data.
 * @returns the `#cloud-config` text (at most 16 KiB, EC2's limit).
 * @throws Error when a value holds a quote or line break, or the result exceeds 16 KiB.
 */
export function bridgeUserData(input: BridgeUserDataInput): string {
  const paths = BRIDGE_INSTANCE_PATHS;
  const poolEnv = envFile({
    XMPP_DOMAIN: input.domain,
    JITSI_VERSION: input.jitsiVersion,
    JITSI_APT_REPO: JITSI_APT.repo,
    JITSI_APT_KEY_URL: JITSI_APT.keyUrl,
    BRIDGE_SERVICE,
    JVB_CONF: hostPaths(input.domain).jvbConf,
    STAGED_JVB_CONF: paths.stagedJvbConf,
    IDENTITY_SCRIPT: paths.identityScript,
    IDENTITY_ENV: paths.identityEnv,
    DRAIN_SCRIPT: paths.drainScript,
    PASSWORD_PARAMETER: input.passwordParameter,
    ASG_NAME: input.asgName,
    LIFECYCLE_HOOK: DRAIN_HOOK_NAME,
    LAUNCH_HOOK: LAUNCH_HOOK_NAME,
    DRAIN_TIMEOUT_SECONDS: String(input.drainTimeoutSeconds),
    // The variable names the rendered jvb.conf reads: the renderer owns them, the scripts only fill them.
    ENV_PRIVATE_IP: BRIDGE_ENV.privateIp,
    ENV_PUBLIC_IP: BRIDGE_ENV.publicIp,
    ENV_NICKNAME: BRIDGE_ENV.nickname,
    ENV_PASSWORD: BRIDGE_ENV.password,
  });
  const file = (path: string, content: string, permissions: string) => ({ path, content, permissions, owner: "root:root" });
  const cloudConfig = {
    write_files: [
      file(paths.poolEnv, poolEnv, "0644"),
      file(paths.stagedJvbConf, input.jvbConf, "0644"),
      file(paths.bootScript, scriptText(BRIDGE_SCRIPTS.boot), "0755"),
      file(paths.identityScript, scriptText(BRIDGE_SCRIPTS.identity), "0755"),
      file(paths.drainScript, scriptText(BRIDGE_SCRIPTS.drain), "0755"),
    ],
    runcmd: [[paths.bootScript]],
  };
  const text = `#cloud-config\n${JSON.stringify(cloudConfig, null, 1)}\n`;
  if (Buffer.byteLength(text) > USER_DATA_LIMIT) {
    throw new Error(`bridge user data is ${Buffer.byteLength(text)} bytes; EC2 allows ${USER_DATA_LIMIT}`);
  }
  return text;
}
