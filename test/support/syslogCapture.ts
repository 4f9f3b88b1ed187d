/**
 * A syslog destination of the test's own, for a process started through it: the process runs in a private mount
 * namespace whose /dev is a temp directory holding the few device nodes a server needs (bound from the real /dev)
 * and `log`, a datagram socket a small Perl receiver (perl-base, present on every Debian) reads; every message
 * goes to a file, one per line. glibc's syslog(3) — what Prosody's pposix.syslog_log calls — writes to /dev/log,
 * so the process logs to syslog exactly as on a host, and nothing outside the test sees it. Needs root (tests
 * run as root) for unshare/mount.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stopChild } from "./stopChild.ts";

const RECEIVER = `use strict; use Socket; use IO::Socket::UNIX;
my ($path, $out) = @ARGV;
my $socket = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $path) or die "bind $path: $!";
chmod 0666, $path;
open(my $file, ">>", $out) or die "open $out: $!";
$file->autoflush(1); $| = 1;
print "ready\\n";
while (defined($socket->recv(my $message, 65536))) { print $file $message, "\\n"; }
`;

/** Device nodes bound into the private /dev (a server reads randomness and writes to null). */
const DEVICES = ["null", "zero", "full", "random", "urandom", "tty"];

export interface SyslogCapture {
  /** Everything the process sent to syslog, one message a line. */
  readonly file: string;
  /** `command` and `args` wrapped to run with the private /dev (same pid: unshare and sh exec into it). */
  wrap(command: string, args: readonly string[]): { command: string; args: string[] };
  stop(): Promise<void>;
}

/** Starts the receiver in `dir` (created if missing) and resolves once its socket is bound. */
export async function startSyslogCapture(dir: string): Promise<SyslogCapture> {
  const dev = join(dir, "dev");
  const file = join(dir, "syslog.log");
  await mkdir(dev, { recursive: true });
  await writeFile(file, "");
  const receiver: ChildProcess = spawn("perl", ["-e", RECEIVER, join(dev, "log"), file], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  receiver.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    receiver.stdout?.once("data", () => resolve());
    receiver.once("exit", (code) => reject(new Error(`syslog receiver exited (${String(code)}): ${stderr}`)));
    receiver.once("error", reject);
  });
  const setup = [
    "set -e",
    `for n in ${DEVICES.join(" ")}; do if [ -e "/dev/$n" ]; then : > "$JITSI_TEST_DEV/$n"; mount --bind "/dev/$n" "$JITSI_TEST_DEV/$n"; fi; done`,
    'mount --rbind "$JITSI_TEST_DEV" /dev',
    'exec "$@"',
  ].join("\n");
  return {
    file,
    wrap: (command, args) => ({
      command: "/usr/bin/env",
      args: [`JITSI_TEST_DEV=${dev}`, "unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", setup, "sh", command, ...args],
    }),
    stop: () => stopChild(receiver),
  };
}
