/**
 * What the Pulumi CLI's failures mean to a user, shared by the render command (infra/render/) and the token
 * module's `--stack` loader (token/config.ts), which both run the CLI as a child process.
 */

/**
 * What the `pulumi` npm package (a devDependency; `node_modules/.bin/pulumi`, ahead of any installed CLI on
 * `npm run`'s PATH) prints when it cannot download the CLI on first use — offline it says only "fetch failed".
 */
const CLI_DOWNLOAD_FAILED = /^Downloading pulumi v(\S+)\.\.\.\s*\npulumi: (.+)$/m;

/** The CLI's own error, or for a failed CLI download what to install and where the npm package looks for it. */
export function pulumiFailureMessage(stderr: string): string {
  const failed = CLI_DOWNLOAD_FAILED.exec(stderr);
  if (failed === null) return stderr.trim();
  const [, version, reason] = failed;
  return (
    `the Pulumi CLI is not installed and the \`pulumi\` npm package could not download it (${reason!.trim()}; offline?). ` +
    `Run \`npx pulumi version\` once with internet access, or install the Pulumi CLI ${version!} yourself ` +
    `(https://www.pulumi.com/docs/install/) and unpack its pulumi/ folder as ~/.pulumi/versions/${version!}/bin, ` +
    `where the npm package looks first; or render from a JSON file with --input`
  );
}
