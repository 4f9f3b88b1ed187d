/**
 * Everything that happens on the host, as @pulumi/command steps over SSH, in this order:
 *
 *   prepare (cloud-init done, sshd accepts our parameter names)
 *   → only root may reach the instance metadata service (before any service account exists)
 *   → install Jitsi at the pinned version (passwords preseeded from stdin)
 *   → Lua-library fix for the token plugins
 *   → certificate (only once the DNS record exists)
 *   → one push per rendered file (content on stdin)
 *   → restart/reload per service, in SERVICES order, each only when its own files changed, then wait healthy.
 *
 * Scripts are static files under ./scripts (listed and wrapped by ./scripts.ts), shipped as the command text. Their parameters are non-secret and
 * travel as SSH environment variables; secrets travel only on stdin. So no command string, environment or user
 * data ever holds a secret, and a secret change re-runs only the pushes and restarts whose content changed.
 */
import { createHash } from "node:crypto";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { RenderedFile } from "../templates/deployment.ts";
import { hostPaths, PORTS, SERVICES, type ServiceName } from "jitsi-jwt-token/shared";
import { scriptCommand, scriptText, SCRIPTS } from "./scripts.ts";

/** ACME directories for certbot (`ACME_SERVER`). */
export const ACME_DIRECTORIES = {
  production: "https://acme-v02.api.letsencrypt.org/directory",
  staging: "https://acme-staging-v02.api.letsencrypt.org/directory",
} as const;

/** Environment names of the certificate script's interface (owned by infra/scripts/obtain-certificate.sh). */
const CERTIFICATE_ENV = ["DOMAIN", "EMAIL", "EXPECTED_IP", "ACME_SERVER", "EXTRA_DOMAINS"] as const;

/** Prefix of every parameter our own scripts take; sshd is told to accept exactly these names. */
const OWN_ENV_PATTERN = "JITSI_*";

/**
 * How each service proves it is back after a restart or reload: only what the pinned packages serve.
 * - Jicofo: `GET /about/version`, always registered (jicofo `ktor/Application.kt` about()); `/about/health`
 *   exists only with `jicofo.health.enabled`, false by default (`reference.conf`, `JicofoServices.kt`), and its
 *   check needs an operational bridge and a test conference.
 * - Videobridge: `/about/health` on the private server (jitsi-videobridge `Main.kt`, `JvbHealthChecker.kt`); it does
 *   not notice a failed XMPP login, so the local bridge's restart also waits (bounded) for Jicofo's `/stats` to
 *   count an operational bridge (`JicofoServices.kt` getStats, `BridgeSelector.kt` operational_bridge_count).
 * - Prosody: `prosodyctl check config` and every loaded module present before, its c2s port after.
 * - nginx: `nginx -t` before, its HTTPS port after.
 */
interface HealthCheck {
  readonly url?: string;
  readonly port?: number;
  /** Local UDP port that must answer a STUN Binding request (coturn). */
  readonly stunPort?: number;
  /** Checked before touching a running service: "1" runs `<service> -t` (nginx); "prosody" see restart-service.sh. */
  readonly configTest?: "1" | "prosody";
}
export const HEALTH_CHECKS: Readonly<Record<ServiceName, HealthCheck>> = {
  prosody: { port: PORTS.xmppClient, configTest: "prosody" },
  jicofo: { url: `http://127.0.0.1:${PORTS.jicofoRest}/about/version` },
  "jitsi-videobridge2": { url: `http://127.0.0.1:${PORTS.jvbRest}/about/health` },
  // coturn: its TLS listener (what nginx's stream proxy forwards to) and a STUN Binding on its UDP port.
  coturn: { port: PORTS.turnTls, stunPort: PORTS.turnUdp },
  nginx: { port: PORTS.publicHttps, configTest: "1" },
};

/** Jicofo's statistics (bridge_selector.operational_bridge_count), read after the local bridge restarts. */
export const JICOFO_STATS_URL = `http://127.0.0.1:${PORTS.jicofoRest}/stats`;

/** Stable, readable resource-name part for a host path: /etc/jitsi/jicofo/jicofo.conf → etc-jitsi-jicofo-jicofo-conf. */
export function pathSlug(path: string): string {
  return path.replace(/^\/+/, "").replace(/[^A-Za-z0-9]+/g, "-").replace(/-+$/, "").toLowerCase();
}

/** Digest of file contents, used as a restart trigger (kept secret: the content may be). */
function digest(files: readonly RenderedFile[]): string {
  const hash = createHash("sha256");
  for (const file of files) hash.update(`${file.path}\0${file.mode}\0${file.owner}:${file.group}\0${file.content}\0`);
  return hash.digest("hex");
}

/** Symlinks that must point at a rendered file for the service to read it. */
function linkFor(domain: string, path: string): string | undefined {
  const paths = hostPaths(domain);
  if (path === paths.prosodyHostConfig) return paths.prosodyHostConfigLink;
  if (path === paths.nginxSite) return paths.nginxSiteLink;
  return undefined;
}

export interface HostProvisioningArgs {
  /** SSH connection to the host; the private key inside must be a secret. */
  readonly connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
  readonly domain: string;
  /** jitsi-meet package version to install. */
  readonly jitsiVersion: string;
  /** The root volume's size in GiB: the partition and file system are grown to it whenever it changes. */
  readonly diskSizeGb: number;
  readonly letsEncryptEmail: string;
  readonly letsEncryptStaging: boolean;
  /** The Elastic IP the certificate step waits to see in DNS. */
  readonly publicIp: pulumi.Input<string>;
  /** Service account passwords (secrets), preseeded so the packages create the accounts with them. */
  readonly focusPassword: pulumi.Output<string>;
  readonly jvbPassword: pulumi.Output<string>;
  /**
   * Which files exist and how they land (path, mode, owner, effect). Must be known when the program runs, so
   * that every file gets its own command; it depends only on plain configuration.
   */
  readonly layout: readonly RenderedFile[];
  /** The real rendered files (same paths as `layout`), computed from outputs and secrets. */
  readonly files: pulumi.Output<readonly RenderedFile[]>;
  /**
   * The instance the steps run on. The connection goes to the Elastic IP, which survives a replaced instance, so
   * every step also carries the instance id as a trigger: a new VM is provisioned from scratch.
   */
  readonly instanceId: pulumi.Input<string>;
  /** Resources that must exist before the first SSH connection (the Elastic IP association). */
  readonly hostReady: pulumi.Input<pulumi.Resource>[];
  /** The DNS record; the certificate step waits for it. */
  readonly dnsRecord: pulumi.Resource;
  /** Further names on the certificate (turn.<domain> with TURN) and their DNS records. Default none. */
  readonly extraCertificateNames?: readonly { readonly name: string; readonly record: pulumi.Resource }[];
  /** False when a bridge pool carries all media: the host's own videobridge is stopped and disabled. */
  readonly localVideobridge: boolean;
  /** jitsi:turn. Off: a step removes the stream proxy file and disables coturn before nginx reloads. */
  readonly turn?: boolean;
  /**
   * The certificate store (certificateStore.ts): the certificate step restores the lineage from this secret on a
   * fresh instance and stores it after every issuance; it waits for the role's access (`ready`). Omitted: no store.
   */
  readonly certificateStore?: { readonly secretArn: pulumi.Input<string>; readonly ready: pulumi.Resource };
}

/** The host's own videobridge unit (typed, so a typo fails to compile). */
const LOCAL_BRIDGE: ServiceName = "jitsi-videobridge2";

/** One step: a static script run as root, its non-secret parameters as environment, secrets on stdin. */
interface Step {
  readonly script: string;
  readonly env?: Record<string, pulumi.Input<string>>;
  readonly stdin?: pulumi.Input<string>;
  readonly triggers?: pulumi.Input<unknown>[];
}

/**
 * Everything that runs on the host over SSH (`jitsi:index:HostProvisioning`), as @pulumi/command steps: prepare,
 * install, Lua fix, certificate, one push per rendered file, restarts of exactly the services whose files changed.
 * Secrets travel on stdin only. Steps: `prepare`, `imdsRootOnly`, `install`, `luaFix`, `certificate` and the per-file pushes.
 */
export class HostProvisioning extends pulumi.ComponentResource {
  readonly prepare: command.remote.Command;
  /**
   * Only root may reach the instance metadata service, where the role's credentials come from (scripts/imds-root-only.sh):
   * an nftables table loaded now and by a unit at every boot. Before the install, so no service account ever could.
   */
  readonly imdsRootOnly: command.remote.Command;
  /** Grows the root partition and file system to the volume (re-runs when diskSizeGb changes). */
  readonly growRootFs: command.remote.Command;
  readonly install: command.remote.Command;
  readonly luaFix: command.remote.Command;
  readonly certificate: command.remote.Command;
  /** One command per rendered file, by host path. */
  readonly pushes: ReadonlyMap<string, command.remote.Command>;
  /** One command per service that has files, in SERVICES order. */
  readonly restarts: ReadonlyMap<ServiceName, command.remote.Command>;
  /** Only with TURN on: runs the deploy hook once so coturn has its copy of the certificate. */
  readonly coturnCertificate: command.remote.Command | undefined;
  /** Only with TURN off: removes what a TURN deployment left (see scripts/turn-off.sh). */
  readonly turnOff: command.remote.Command | undefined;
  /** Removes public key files that are no longer configured (RS256 key server directory). */
  readonly keyPrune: command.remote.Command;
  /** Sets focus@auth / jvb@auth passwords in Prosody (re-runs when they change: stdin is part of the state). */
  readonly accounts: command.remote.Command;
  /** Installs the disk-use publisher (AWS CLI snap, script, systemd timer) and publishes once (diskMetric.ts). */
  readonly diskMetric: command.remote.Command;
  /** Stops the host's own videobridge when a pool carries all media. */
  readonly localBridgeOff: command.remote.Command | undefined;

  constructor(name: string, args: HostProvisioningArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jitsi:index:HostProvisioning", name, {}, opts);

    const step = (suffix: string, spec: Step, dependsOn: pulumi.Input<pulumi.Resource>[]) =>
      new command.remote.Command(
        `${name}-${suffix}`,
        {
          connection: args.connection,
          create: scriptCommand(spec.script, Object.keys(spec.env ?? {})),
          environment: spec.env,
          stdin: spec.stdin,
          triggers: [args.instanceId, ...(spec.triggers ?? [])],
          // The provider would pass the previous stdout/stderr as extra SSH variables, which sshd only accepts
          // for the names the prepare step allowed; the scripts do not need them.
          addPreviousOutputInEnv: false,
        },
        { parent: this, dependsOn },
      );

    this.prepare = step(
      "prepare",
      // The only parameter of the first step (before sshd accepts any) comes on stdin; it is not secret.
      { script: scriptText(SCRIPTS.prepareHost), stdin: [OWN_ENV_PATTERN, ...CERTIFICATE_ENV].join(" ") + "\n" },
      args.hostReady,
    );

    this.imdsRootOnly = step("imds-root-only", { script: scriptText(SCRIPTS.imdsRootOnly) }, [this.prepare]);

    // cloud-init grows the root file system only at boot; a larger diskSizeGb resizes the running instance's volume.
    this.growRootFs = step(
      "grow-root-fs",
      { script: scriptText(SCRIPTS.growRootFs), env: { JITSI_DISK_SIZE_GB: String(args.diskSizeGb) }, triggers: [args.diskSizeGb] },
      [this.prepare],
    );

    this.install = step(
      "install",
      {
        script: scriptText(SCRIPTS.installJitsi),
        env: { JITSI_DOMAIN: args.domain, JITSI_VERSION: args.jitsiVersion },
        // debconf selections: the only place the passwords go, and stdin is never logged or put on argv.
        stdin: pulumi.secret(
          pulumi
            .all([args.jvbPassword, args.focusPassword])
            .apply(([jvb, focus]) =>
              [
                `jitsi-videobridge2 jitsi-videobridge/jvbsecret password ${jvb}`,
                `jicofo jicofo/jicofo-authpassword password ${focus}`,
                "",
              ].join("\n"),
            ),
        ),
      },
      // Jitsi's packages create the service accounts (prosody, jicofo, jvb, turnserver) and start them.
      [this.imdsRootOnly],
    );

    // Independent of Jitsi: only needs a prepared host (and the instance role, which the instance carries).
    this.diskMetric = step("disk-metric", { script: scriptText(SCRIPTS.installDiskMetric), stdin: scriptText(SCRIPTS.diskMetric) }, [this.prepare]);

    // A different Jitsi version may pull different Lua packages: check again after every install.
    this.luaFix = step("lua-fix", { script: scriptText(SCRIPTS.fixLuaModules), triggers: [args.jitsiVersion] }, [this.install]);

    const extraNames = args.extraCertificateNames ?? [];
    const certificateEnv: Record<string, pulumi.Input<string>> = {
      DOMAIN: args.domain,
      EMAIL: args.letsEncryptEmail,
      EXPECTED_IP: args.publicIp,
      ACME_SERVER: args.letsEncryptStaging ? ACME_DIRECTORIES.staging : ACME_DIRECTORIES.production,
      // Only when there are any: a stack without TURN keeps exactly its former certificate step.
      ...(extraNames.length > 0 ? { EXTRA_DOMAINS: extraNames.map((extra) => extra.name).join(" ") } : {}),
    };
    // The store's ARN is not secret (JITSI_* is accepted by sshd); the store client travels on stdin.
    const store = args.certificateStore;
    if (store !== undefined) certificateEnv.JITSI_CERT_STORE_ARN = store.secretArn;
    // After the DNS record: the script waits for the name to resolve to the Elastic IP, then runs HTTP-01.
    this.certificate = step(
      "certificate",
      {
        script: scriptText(SCRIPTS.obtainCertificate),
        env: certificateEnv,
        ...(store === undefined ? {} : { stdin: scriptText(SCRIPTS.certificateStore) }),
      },
      [this.install, args.dnsRecord, ...extraNames.map((extra) => extra.record), ...(store === undefined ? [] : [store.ready])],
    );

    // The service whose restart step confirms a file (none for the local bridge when a pool carries the media).
    const confirmedBy = (file: RenderedFile): ServiceName | undefined =>
      file.effect === null || (file.effect.service === LOCAL_BRIDGE && !args.localVideobridge) ? undefined : file.effect.service;

    const pushes = new Map<string, command.remote.Command>();
    const installFile = scriptText(SCRIPTS.installFile);
    for (const file of args.layout) {
      const link = linkFor(args.domain, file.path);
      const content = args.files.apply((files) => {
        const rendered = files.find((f) => f.path === file.path);
        if (rendered === undefined) throw new Error(`renderer no longer produces ${file.path}`);
        return rendered.content;
      });
      const push = step(
        `file-${pathSlug(file.path)}`,
        {
          script: installFile,
          env: {
            JITSI_FILE_PATH: file.path,
            JITSI_FILE_MODE: `0${file.mode.toString(8)}`,
            JITSI_FILE_OWNER: file.owner,
            JITSI_FILE_GROUP: file.group,
            ...(link === undefined ? {} : { JITSI_FILE_LINK: link }),
            // Keeps the replaced file until that service's restart confirms the new one (or rolls back to it).
            ...(confirmedBy(file) === undefined ? {} : { JITSI_FILE_SERVICE: confirmedBy(file)! }),
          },
          // Secret whatever the file: most contents derive from secrets, and stdin is stored in state.
          stdin: pulumi.secret(content),
          // Package upgrades may rewrite config files (jicofo's postinst edits jicofo.conf with `hocon set`):
          // after a new version, put the rendered content back.
          triggers: [args.jitsiVersion],
        },
        // The nginx site names the certificate files, and the Prosody config needs the Lua fix.
        [this.certificate, this.luaFix],
      );
      pushes.set(file.path, push);
    }
    this.pushes = pushes;

    // Pushes only add and replace files. A public key dropped from the config must also stop being served (Prosody
    // would keep accepting tokens signed with it), so the key directory is pruned to exactly the rendered keys.
    const keysDir = hostPaths(args.domain).asapKeysDir;
    const keyFiles = args.layout.filter((f) => f.path.startsWith(`${keysDir}/`));
    this.keyPrune = step(
      "prune-asap-keys",
      {
        script: scriptText(SCRIPTS.pruneDir),
        env: { JITSI_PRUNE_DIR: keysDir },
        stdin: keyFiles.map((f) => `${f.path.slice(keysDir.length + 1)}\n`).join(""),
      },
      // After the key pushes: their temporary files live in the same directory until renamed.
      [this.certificate, this.luaFix, ...keyFiles.map((f) => pushes.get(f.path)!)],
    );

    // Jicofo and the bridge log in with passwords the packages registered only at first install: whenever a
    // generated password changes, Prosody must follow before they restart on their new files.
    this.accounts = step(
      "xmpp-accounts",
      {
        script: scriptText(SCRIPTS.setXmppPasswords),
        env: { JITSI_DOMAIN: args.domain },
        stdin: pulumi.secret(
          pulumi.all([args.focusPassword, args.jvbPassword]).apply(([focus, jvb]) => `focus ${focus}\njvb ${jvb}\n`),
        ),
        triggers: [args.jitsiVersion],
      },
      [this.install, this.luaFix],
    );

    // Off: the stream file a former TURN deployment left must go before nginx reloads with the site on 443 again.
    this.turnOff =
      args.turn === true
        ? undefined
        : step(
            "turn-off",
            { script: scriptText(SCRIPTS.turnOff), env: { JITSI_STREAM_FILE: hostPaths(args.domain).nginxStream }, triggers: [args.jitsiVersion] },
            [this.install],
          );

    // On: coturn reads its own copy of the certificate, which the deploy hook makes; certbot runs that hook only
    // on renewals, so it runs once here after the certificate step and the hook's push (again when either changes).
    const hookPath = hostPaths(args.domain).renewalHook;
    const hookPush = pushes.get(hookPath);
    this.coturnCertificate =
      args.turn !== true || hookPush === undefined
        ? undefined
        : step(
            "coturn-cert-copy",
            {
              script: scriptText(SCRIPTS.runRenewalHook),
              env: { JITSI_HOOK: hookPath },
              triggers: [args.jitsiVersion, pulumi.secret(args.files.apply((files) => digest(files.filter((f) => f.path === hookPath))))],
            },
            // The hook also reloads nginx: after all of nginx's files, so it never reloads onto half of them.
            [
              this.certificate,
              hookPush,
              ...args.layout.filter((f) => f.effect?.service === "coturn" || f.effect?.service === "nginx").map((f) => pushes.get(f.path)!),
            ],
          );

    const restarts = new Map<ServiceName, command.remote.Command>();
    let previous: command.remote.Command | undefined;
    for (const service of SERVICES) {
      const own = args.layout.filter((f) => f.effect?.service === service);
      if (own.length === 0 || (service === LOCAL_BRIDGE && !args.localVideobridge)) continue;
      const check = HEALTH_CHECKS[service];
      // In layout order, so the host can recompute it over JITSI_SERVICE_FILES (restart-service.sh).
      const contentDigest = args.files.apply((files) => digest(own.map((l) => files.find((f) => f.path === l.path)!)));
      const restart = step(
        `service-${service}`,
        {
          script: scriptText(SCRIPTS.restartService),
          env: {
            JITSI_SERVICE: service,
            JITSI_ACTION: own.some((f) => f.effect?.action === "restart") ? "restart" : "reload",
            ...(check.url === undefined ? {} : { JITSI_HEALTH_URL: check.url }),
            ...(check.port === undefined ? {} : { JITSI_HEALTH_PORT: String(check.port) }),
            ...(check.stunPort === undefined ? {} : { JITSI_HEALTH_STUN_PORT: String(check.stunPort) }),
            ...(check.configTest === undefined ? {} : { JITSI_CONFIG_TEST: check.configTest }),
            ...(service === LOCAL_BRIDGE ? { JITSI_BRIDGES_URL: JICOFO_STATS_URL } : {}),
            // The files the digest on stdin covers, in its order: the restart refuses to confirm files other
            // than these (e.g. the last good ones an earlier failed restart rolled back to).
            JITSI_SERVICE_FILES: own.map((f) => f.path).join(":"),
          },
          stdin: pulumi.secret(contentDigest.apply((d) => `${d}\n`)),
          // Re-run exactly when this service's own files change (or a new Jitsi version was installed).
          triggers: [pulumi.secret(contentDigest), args.jitsiVersion],
        },
        // Jicofo and the bridge are XMPP clients of Prosody: keep SERVICES order when several restart at once.
        // Prosody restarts after the key directory is pruned, so a dropped key leaves its cache too.
        [
          ...own.map((f) => pushes.get(f.path)!),
          ...(previous === undefined ? [this.keyPrune, this.accounts] : [previous]),
          ...(service === "nginx" && this.turnOff !== undefined ? [this.turnOff] : []),
          ...(service === "coturn" && this.coturnCertificate !== undefined ? [this.coturnCertificate] : []),
        ],
      );
      restarts.set(service, restart);
      previous = restart;
    }
    this.restarts = restarts;

    // The packages start a bridge on this host whatever the settings; with a pool carrying all media it would
    // still join the brewery and take conferences, so it is switched off once Jitsi is installed.
    this.localBridgeOff = args.localVideobridge
      ? undefined
      : step(
          `service-${LOCAL_BRIDGE}-off`,
          { script: scriptText(SCRIPTS.restartService), env: { JITSI_SERVICE: LOCAL_BRIDGE, JITSI_ACTION: "disable" }, triggers: [args.jitsiVersion] },
          [this.install],
        );

    this.registerOutputs({});
  }
}
