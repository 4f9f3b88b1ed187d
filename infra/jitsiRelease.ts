/**
 * Which `jitsi-meet` releases this project can deploy (pure; no Pulumi types).
 *
 * The rendered Prosody configuration loads `token_affiliation` (per-token moderators) and `polls_component`.
 * Prosody skips a module it cannot find and starts anyway, so on a release without them nobody ever becomes
 * moderator and polls are off, silently. Provisioning checks the installed modules after every install (the
 * authority: `restart-service.sh`, JITSI_CONFIG_TEST=prosody); this rule only refuses, before any resource,
 * releases that cannot have them.
 *
 * What the minimum rests on (jitsi-meet git history, `git log --diff-filter=A -- resources/prosody-plugins/…`):
 * - `mod_polls_component.lua` was added on 2025-09-25 (commit 469406d7c, "feat(polls): Move polls to using a
 *   component"),
 * - `mod_token_affiliation.lua` was added on 2026-05-08 (commit 52d031d34, "More prosody module tests").
 * Stable releases (jitsi-meet release tags stable/jitsi-meet_<N>, as packagers such as YunoHost's jitsi_ynh track
 * them): 2.0.10590 (2025-10), 2.0.11031 (2026-06), 2.0.11146 (2026-08), 2.0.11248 (2026-09). 2.0.11031 is the
 * first stable release published after both modules were added; every earlier one was cut before 2026-05-08.
 */

import type { Rule } from "jitsi-jwt-token/shared";

/** Oldest jitsi-meet release accepted, with the reason shown in the error. */
export const MINIMUM_JITSI_RELEASE = {
  build: 11031,
  version: "2.0.11031-1",
  reason:
    "the first stable release after mod_token_affiliation (jitsi-meet, 2026-05-08) and polls_component (2025-09-25) " +
    "were added; older releases cannot ship the modules the Prosody configuration loads",
} as const;

/** The release the examples pin (jitsi-meet stable/jitsi-meet_11248, 2026-09-14). */
export const EXAMPLE_JITSI_VERSION = "2.0.11248-1";

// jitsi-meet metapackage versions: <major>.<minor>.<build>-<revision>, e.g. 2.0.11248-1 (jitsi-meet-debian-meta).
const RELEASE = /^(\d+)\.(\d+)\.(\d+)-([0-9][A-Za-z0-9.+~]*)$/;

/**
 * Problems with a `jitsiVersion` value (empty when it is usable).
 *
 * @param version the configured jitsi-meet package version, already trimmed
 * @returns messages naming what is allowed (the caller prefixes the key)
 */
export function jitsiReleaseProblems(version: string): string[] {
  const parts = RELEASE.exec(version);
  if (parts === null) {
    return [`must be a jitsi-meet release version like ${EXAMPLE_JITSI_VERSION} (see \`apt-cache madison jitsi-meet\`), got "${version}"`];
  }
  const [major, minor, build] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  const older = major < 2 || (major === 2 && minor === 0 && build < MINIMUM_JITSI_RELEASE.build);
  if (older) {
    return [
      `must be ${MINIMUM_JITSI_RELEASE.version} or newer (${MINIMUM_JITSI_RELEASE.reason}), got "${version}"; ` +
        `current stable releases: 2.0.11146-1, ${EXAMPLE_JITSI_VERSION}`,
    ];
  }
  return [];
}

/** The `jitsiVersion` field rule (stack reader, JitsiServer, the bridge pool): the first problem, or undefined. */
export const jitsiVersionProblem: Rule = (value) => jitsiReleaseProblems(value)[0];
