//! Command-line types (clap). Only parsing lives here; `commands` resolves and runs.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit codes:
  0  success                 6  packaging failed
  1  unexpected error        7  verification failed (digest, size, listing)
  2  usage error             8  publish refused (e.g. a different file under the same version)
  3  config error            9  promotion gate failed (pre-release, downgrade, unverified)
  4  git state (tag, dirty)  10 install failed (no build for this platform, unsafe archive)
  5  build failed            11 network error
                             12 check failed (versions out of lockstep, changelog not final)
                             13 busy: another relman holds this destination's, prefix's or
                                project's lock (RELMAN_LOCK_TIMEOUT seconds are waited first)";

/// relman turns a git tag into a complete, verifiable release: archives for every target,
/// checksums.txt, index.json and a manifest, published to a destination in two phases
/// (publish the immutable version, then promote it to latest).
#[derive(Debug, Parser)]
#[command(name = "relman", version, after_long_help = EXIT_CODES, max_term_width = 100)]
#[command(
    after_help = "Quick start in a Cargo project:\n  relman init                      write relman.toml\n  relman release --snapshot        build, package and publish a test release to dist/releases\n  git tag -a v0.1.0 -m v0.1.0 && relman release --promote\n\nSee `relman help <command>` and, for exit codes, `relman --help`."
)]
pub struct Cli {
    /// Print one JSON document on stdout instead of human output (errors too).
    #[arg(long, global = true)]
    pub json: bool,

    /// Print only errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Run as if started in DIR.
    #[arg(short = 'C', long = "dir", global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented relman.toml for the project in the current directory.
    Init {
        /// Replace an existing relman.toml.
        #[arg(long)]
        force: bool,
        /// Print the relman.toml it would write, and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Create a signing key pair (cosign-compatible) and, in a project, record it in relman.toml.
    ///
    /// The private key is encrypted with the passphrase from RELMAN_PASSWORD (or COSIGN_PASSWORD),
    /// or one typed at a prompt; it is written with mode 0600 and git-ignored. Commit the public key:
    /// users verify releases with it (`relman verify --key relman.pub`).
    Keygen {
        /// Where to write the private key.
        #[arg(long, default_value = "relman.key", value_name = "FILE")]
        key: PathBuf,
        /// Where to write the public key.
        #[arg(long = "public-key", default_value = "relman.pub", value_name = "FILE")]
        public_key: PathBuf,
        /// Replace existing key files.
        #[arg(long)]
        force: bool,
        /// Do not record the key pair in relman.toml.
        #[arg(long)]
        no_config: bool,
    },
    /// Check that the release tag, the tree and every recorded version agree (lockstep).
    ///
    /// The tag must be semver and point at HEAD (or --ref); the tree must be clean; Cargo.toml,
    /// Cargo.lock, package.json, package-lock.json, pyproject.toml, uv.lock, Chart.yaml and the
    /// files in [versions] must record the tag's version; CHANGELOG.md must have a dated section
    /// for it. Every problem is listed with file:line, expected and found (exit 12).
    Check {
        /// The release tag to check (default: the release tag at HEAD).
        #[arg(long)]
        tag: Option<String>,
        /// The commit the tag must point at (default HEAD).
        #[arg(long = "ref", value_name = "REF")]
        git_ref: Option<String>,
        /// Do not require a clean working tree.
        #[arg(long)]
        allow_dirty: bool,
        /// Instead: match the packages of the project's lockfiles against the database of
        /// [gate.vulnerabilities] (OSV records or RustSec advisories, offline) and report
        /// every finding; exit 9 when one at or above the threshold is not ignored.
        #[arg(long)]
        vulnerabilities: bool,
    },
    /// Bump every recorded version in lockstep, update CHANGELOG.md, commit and tag (no push).
    ///
    /// SPEC is major, minor, patch, an exact version, or auto: from the conventional commits
    /// since the last release (breaking → major, or minor while 0.x; feat → minor; fix/perf →
    /// patch). With --pre rc the result is a pre-release (rc.1 → rc.2); `auto` on an rc
    /// finalises it.
    Bump {
        /// major | minor | patch | auto | X.Y.Z
        spec: String,
        /// Make a pre-release with this name (rc, beta, alpha).
        #[arg(long, value_name = "NAME")]
        pre: Option<String>,
        /// Show the diff and the notes; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Release notes from the commits since the previous release (Markdown; --json for tools).
    ///
    /// The previous release of a stable version is the previous stable tag; of a pre-release,
    /// the previous tag of any kind.
    Notes {
        /// Start after this tag or commit instead of the previous release.
        #[arg(long)]
        from: Option<String>,
        /// The last commit or release tag (default HEAD).
        #[arg(long)]
        to: Option<String>,
        /// The release described, when several tags point at --to or it is not tagged yet.
        #[arg(long)]
        tag: Option<String>,
    },
    /// Add the release's section to CHANGELOG.md (idempotent: running it twice changes nothing).
    Changelog {
        /// The release (default: the release tag at HEAD).
        #[arg(long)]
        tag: Option<String>,
        /// Show the diff; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the JSON Schema of relman.toml (or of the manifest / index.json).
    Schema {
        #[arg(value_enum, default_value = "config")]
        document: SchemaDoc,
    },
    /// Print a shell completion script: `relman completions bash > /etc/bash_completion.d/relman`,
    /// `relman completions zsh > "${fpath[1]}/_relman"`, `relman completions fish >
    /// ~/.config/fish/completions/relman.fish`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `relman man > ~/.local/share/man/man1/relman.1`.
    Man,
    /// Decide the version, targets, artifacts and destinations; write dist/<version>/manifest.json.
    ///
    /// Nothing is built: this is a complete dry run of what `release` would do.
    Plan(ProjectArgs),
    /// Build the binaries for each target (`cargo build --release --locked --target T` by default).
    ///
    /// On one runner of a build matrix: `relman build --target T --part dist/parts/T` also writes
    /// a self-contained part (the outputs, their sha256, the build log and relman-part.json) for
    /// `relman merge` on the job that packages and publishes.
    Build(BuildArgs),
    /// The release workflows of this project, from its relman.toml: generate, check, matrix.
    #[command(subcommand)]
    Ci(CiCommand),
    /// Join the parts that a build matrix's runners wrote (`relman build --target T --part DIR`)
    /// into this release, as if it had been built here.
    ///
    /// Every part must be of the same project, version, commit and plan (relman version,
    /// relman.toml, targets, SOURCE_DATE_EPOCH); every planned target must come from exactly one
    /// part; every file must have the sha256 its part recorded (read once, while it is linked or
    /// copied into dist/<version>/build/<target>/). Then `relman release` packages, signs and
    /// publishes without building again: the result is byte-identical to a release built on one
    /// machine. A refused merge names the part, the target or the file (exit 7).
    Merge(MergeArgs),
    /// Build archives, checksums.txt and index.json under dist/<version>/ (reproducibly).
    Package(ProjectArgs),
    /// Copy the packaged release to its destinations: files under dir:PATH/<version>/ or
    /// s3://BUCKET/PREFIX/<version>/; images and charts to oci://REGISTRY/PATH (signed, version
    /// tag last); a draft release page with every file at github:OWNER/REPO,
    /// gitea:https://HOST/OWNER/REPO or forgejo:https://HOST/OWNER/REPO (token from GITHUB_TOKEN /
    /// GH_TOKEN, GITEA_TOKEN, FORGEJO_TOKEN). GitLab has no drafts: at
    /// gitlab:https://HOST/GROUP/PROJECT (GITLAB_TOKEN or CI_JOB_TOKEN) publish fills the generic
    /// package PROJECT/<version>, and promote creates the release with its links. The docs
    /// site ([docs]) goes to git:BRANCH (one commit, pushed without force) or docs+dir:PATH as
    /// <version>/, listed in mike's versions.json. Every destination is checked before anything
    /// is written; registries go first, then file stores and docs, then pages. Never moves
    /// latest and never publishes the draft.
    Publish(ProjectArgs),
    /// Check the gates for a published version and move latest to it.
    ///
    /// Gates: the version is published, every file matches checksums.txt, index.json and the
    /// manifest, it is not a pre-release, and it is not older than the current latest. At an
    /// oci:// destination also: every signature and attestation verifies with sign.public_key
    /// and the smoke test passed (when configured), and X.Y would not move backwards; then X.Y
    /// and latest point at the same index digest. A maintenance release of an older line
    /// (1.2.6 while latest is 2.0.0) moves only its X.Y; latest stays on the newer line.
    Promote(PromoteArgs),
    /// What each destination really holds of a version: the assets the release record expects
    /// against what is there (fetched and verified, never assumed), the pointers, the gates,
    /// and the commands to verify it yourself.
    ///
    /// Writes dist/<version>/release-summary.md and release-summary.json (from a fresh clone
    /// too). Exit 7 when an asset is missing, different or extra, or a signature fails.
    Summary {
        /// Version to summarise, e.g. 1.4.2.
        version: String,
        /// Destinations to look at (repeat). Default: the release's destinations.
        #[arg(long = "to", value_name = "URL")]
        to: Vec<String>,
        /// Public key to check signatures with (default: sign.public_key of relman.toml).
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
    },
    /// Run each image's smoke test against the pushed image and record a signed result.
    ///
    /// podman runs REGISTRY/PATH/<image>@<digest> as UID 12345 with [image.smoke] args; the test
    /// passes on exit 0 with `expect` in the output. The result is DSSE-signed and attached to
    /// the image as an attestation; promote requires it when the smoke test is required.
    Smoke(ProjectArgs),
    /// Remove a version from its destinations: at oci://, its images' tags, manifests,
    /// signatures and attestations (by digest, as registries require); at dir:, its version
    /// directory; at s3://, its objects (index.json first).
    ///
    /// Everything is checked at every destination before anything is deleted anywhere. Asks
    /// for confirmation (--yes in CI; --dry-run lists only). A version latest or X.Y points at
    /// is refused (exit 9) unless --force. At oci:// the index goes first (its tag with it),
    /// then signatures, attestations and referrers, then platform manifests no other tag
    /// lists. A yank cut short finishes when run again (from dist/<version>/manifest.json).
    Yank {
        /// Version to remove, e.g. 1.4.2.
        version: String,
        /// Destination: oci://REGISTRY/PATH (images, their signatures and attestations),
        /// dir:PATH or s3://BUCKET/PREFIX (the version's files), github:/gitea:/forgejo: (the
        /// release page and its assets; never an immutable one). Default: the release's
        /// destinations.
        #[arg(long = "to", value_name = "URL")]
        to: Vec<String>,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// Also remove what latest or X.Y points at (and those pointers, at dir:).
        #[arg(long)]
        force: bool,
        /// List what would be removed at every destination; remove nothing.
        #[arg(long)]
        dry_run: bool,
        /// At a forge (github:, gitea:, forgejo:, gitlab:), also delete the git tag once the
        /// release is gone.
        #[arg(long)]
        tag: bool,
        /// Config file to use instead of ./relman.toml.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Resolve base images given by tag (relman.toml `base`, Dockerfile `FROM`) to digests and
    /// rewrite those lines.
    Pin {
        /// Show what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Config file to use instead of ./relman.toml.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Re-hash a published release and check that checksums.txt, index.json and the manifest agree.
    ///
    /// TARGET is a version directory or a release root (its latest stable version), local or
    /// over HTTP(S); an image: oci://REGISTRY/REPO:TAG (signatures per platform and
    /// attestations, with the public key); or a forge release page, github:OWNER/REPO@TAG
    /// (gitea:, forgejo:, gitlab:https://HOST/OWNER/REPO@TAG), whose assets are downloaded and
    /// verified as a directory. A keyless release is verified by who signed it instead of a key:
    /// --certificate-identity, --certificate-oidc-issuer and --trusted-root (as cosign's flags).
    /// A keyless signature counts only when the log vouches for it (a checkpoint or signed entry
    /// timestamp by a log of the trusted root), its signed time (SET or RFC 3161 timestamp) lies
    /// in the certificate's validity, and the path is a code-signing one. With a key or an
    /// identity every file at the location must be listed or sign a listed file.
    Verify {
        /// Directory or URL of a published release.
        target: String,

        /// Public key to check signatures and provenance with (default: sign.public_key of
        /// ./relman.toml, when there is one). With a key the release must be signed by it:
        /// every archive, checksums.txt, index.json and manifest.json needs a signature that
        /// verifies (a release stripped of its signatures fails, however well its files agree).
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,

        /// Demand a Sigstore bundle (`.sigstore.json`) for every archive, checksums.txt,
        /// index.json and manifest.json; a legacy `.sig` alone is not enough.
        #[arg(long)]
        require_signatures: bool,

        /// Where to write remote-verify.json and remote-verify.md (default: the current
        /// directory for URLs; none for local directories).
        #[arg(long, value_name = "DIR")]
        report_dir: Option<PathBuf>,

        #[command(flatten)]
        identity: IdentityArgs,
    },
    /// Print SHA-256 checksums in `sha256sum` format (hardware-accelerated, files in parallel).
    Checksum {
        /// Files to hash.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Install a binary from a published release, verifying it first.
    Install(InstallArgs),
    /// Install the newest stable version of an installed binary (or roll back).
    Upgrade(UpgradeArgs),
    /// Plan, build, package and publish in one go (and promote with --promote).
    ///
    /// Re-running after a failure resumes: artifacts already built or published with the same
    /// digest are skipped.
    Release(ReleaseArgs),
}

/// Who must have signed a keyless release (instead of `--key`), as cosign asks it.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Keyless (verify by identity)")]
pub struct IdentityArgs {
    /// The signer's identity, exactly: the certificate's Subject Alternative Name, e.g.
    /// `https://github.com/ORG/REPO/.github/workflows/release.yml@refs/tags/v1.2.3` (a CI
    /// workflow) or an email. The release notes name it.
    #[arg(long, value_name = "IDENTITY", conflicts_with = "certificate_identity_regexp")]
    pub certificate_identity: Option<String>,

    /// The signer's identity as a regular expression that must match the whole identity
    /// (unlike cosign, which searches: end a prefix with `.*`), e.g.
    /// `https://github.com/ORG/REPO/.github/workflows/release.yml@refs/tags/v.*`.
    #[arg(long, value_name = "REGEX")]
    pub certificate_identity_regexp: Option<String>,

    /// The OIDC issuer that vouched for the identity, exactly, e.g.
    /// `https://token.actions.githubusercontent.com` (GitHub Actions) or
    /// `https://gitlab.com` (GitLab).
    #[arg(long, value_name = "URL", conflicts_with = "certificate_oidc_issuer_regexp")]
    pub certificate_oidc_issuer: Option<String>,

    /// The OIDC issuer as a regular expression that must match the whole issuer.
    #[arg(long, value_name = "REGEX")]
    pub certificate_oidc_issuer_regexp: Option<String>,

    /// Sigstore's `trusted_root.json`: the certificate authorities and transparency logs to
    /// trust (a private Sigstore's, or the public-good one from `sigstore/root-signing`).
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
}

impl IdentityArgs {
    pub fn given(&self) -> bool {
        self.certificate_identity.is_some()
            || self.certificate_identity_regexp.is_some()
            || self.certificate_oidc_issuer.is_some()
            || self.certificate_oidc_issuer_regexp.is_some()
            || self.trusted_root.is_some()
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SchemaDoc {
    Config,
    Manifest,
    Index,
}

#[derive(Debug, Args, Clone)]
pub struct ProjectArgs {
    /// Build a snapshot: version from the last tag and the commit (e.g. 1.2.4-snapshot.3.gab12cd3);
    /// uncommitted changes are allowed.
    #[arg(long)]
    pub snapshot: bool,

    /// Release even though the working tree has uncommitted changes.
    #[arg(long)]
    pub allow_dirty: bool,

    /// The tag to release when several release tags point at HEAD.
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,

    /// Only this target (repeatable); must be one of build.targets.
    #[arg(long = "target", value_name = "TRIPLE")]
    pub targets: Vec<String>,

    /// Destination, replacing release.to (repeatable): dir:PATH, oci://REGISTRY/PATH,
    /// s3://BUCKET/PREFIX (AWS credentials and AWS_ENDPOINT_URL from the environment),
    /// github:OWNER/REPO (GITHUB_TOKEN; GitHub Enterprise: github:https://HOST/OWNER/REPO or
    /// GITHUB_API_URL), gitea:https://HOST/OWNER/REPO (GITEA_TOKEN),
    /// forgejo:https://HOST/OWNER/REPO (FORGEJO_TOKEN), gitlab:https://HOST/GROUP/PROJECT
    /// (GITLAB_TOKEN or CI_JOB_TOKEN; no drafts there: the release page is made at promote);
    /// for the docs site: git:BRANCH (a branch of origin; git:BRANCH@REMOTE), docs+dir:PATH.
    #[arg(long = "to", value_name = "URL")]
    pub to: Vec<String>,

    /// At a forge, replace a draft's asset whose bytes differ from the release's (refused
    /// otherwise, naming both digests). A published release is never changed.
    #[arg(long)]
    pub replace: bool,

    /// Run the build command again even when nothing changed (same commit, clean tree, same
    /// command, outputs as recorded), and re-hash every archive input and output.
    #[arg(long)]
    pub force_rebuild: bool,

    /// Config file to use instead of ./relman.toml.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Fail when no signing key is configured (releases are signed whenever one is).
    #[arg(long)]
    pub require_signatures: bool,

    /// Keyless signing (sign.mode = "keyless"): read the OIDC identity token from FILE (`-`:
    /// standard input) instead of SIGSTORE_ID_TOKEN or the Actions token service.
    #[arg(long, value_name = "FILE|-")]
    pub identity_token: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum CiCommand {
    /// Write the release workflow(s): .github/workflows/{release,check,promote}.yml,
    /// .forgejo/workflows/{release,check,promote}.yml or .gitlab-ci.yml.
    ///
    /// On a release tag: a plan job (`relman ci matrix`), one build job per target on a runner
    /// that builds it natively ([ci.targets."<triple>"] runner, container), and a publish job
    /// that merges the parts, packages, signs and publishes (phase 1, `relman release`). Phase 2
    /// (`relman promote`) is a workflow run by hand, or with [ci] promote = "approval" a job that
    /// waits for its environment's approval. Least privilege: `contents: write` only where a
    /// release page or docs branch is written, `packages: write` only for ghcr.io; actions
    /// pinned by commit; secrets only from the CI's secret store, the publish job in the
    /// environment `release`. Every job installs relman's own release archive, checked against
    /// the sha256 written in the workflow ([ci] relman_index says where; [ci] install replaces
    /// it). check.yml runs `relman ci check` and an unsigned snapshot on pull requests. Files the
    /// configuration no longer needs are removed; other workflows releasing on tags are named.
    /// relman owns the blocks between `# relman:begin` and `# relman:end`; your edits outside
    /// them survive regeneration.
    Generate {
        /// github | forgejo | gitlab
        forge: String,
        /// Print what would be written, and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Config file to use instead of ./relman.toml.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Fail (exit 12) when the committed workflow files differ from what `relman ci generate`
    /// would write: names each block (edited by hand, or out of date with relman.toml) and
    /// prints the difference.
    Check {
        /// github | forgejo | gitlab (default: every CI whose files exist).
        forges: Vec<String>,
        /// Config file to use instead of ./relman.toml.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Plan the release at this commit and print its build matrix (one entry per target:
    /// target, runner, container) and version, for a workflow's plan job.
    Matrix {
        /// github | forgejo | gitlab (which runner labels).
        forge: String,
        /// `json` (one document) or `github-output` (`matrix=…` and `version=…` lines for
        /// $GITHUB_OUTPUT).
        #[arg(long, default_value = "json")]
        format: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub project: ProjectArgs,

    /// Also write the built targets as a part into DIR (replaced if it holds an earlier part),
    /// for `relman merge` on another machine.
    #[arg(long, value_name = "DIR")]
    pub part: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    #[command(flatten)]
    pub project: ProjectArgs,

    /// The part directories, one or more per runner (e.g. dist/parts/*).
    #[arg(required = true, value_name = "DIR")]
    pub parts: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// Version to promote, e.g. 1.4.2 (a leading v is accepted).
    pub version: String,

    /// Destination holding the published version: dir:PATH, oci://REGISTRY/PATH,
    /// s3://BUCKET/PREFIX, or a forge (github:OWNER/REPO, gitea:/forgejo:https://HOST/OWNER/REPO:
    /// its draft is published, marked latest only when it is the newest stable, after the
    /// checks in release.required_checks succeeded on the tag; gitlab:https://HOST/GROUP/PROJECT:
    /// the release is created with a link per file of its package; git:BRANCH or docs+dir:PATH:
    /// the docs' latest alias, versions.json and root redirect). Repeat for several. Default: the release's destinations (release.to in relman.toml). Every gate
    /// at every destination is checked before any pointer moves anywhere.
    #[arg(long = "to", value_name = "URL")]
    pub to: Vec<String>,

    /// Allow moving latest to a version older than the current latest (at oci://: X.Y, and
    /// latest within the same X.Y line).
    #[arg(long)]
    pub allow_downgrade: bool,
}

#[derive(Debug, Args)]
pub struct ReleaseArgs {
    #[command(flatten)]
    pub project: ProjectArgs,

    /// After publishing, check the gates and move latest to this version.
    #[arg(long)]
    pub promote: bool,

    /// With --promote: allow moving latest backwards.
    #[arg(long)]
    pub allow_downgrade: bool,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// An archive, an index.json, a version directory or a release root; a path or an http(s)
    /// URL; or a forge, github:OWNER/REPO (gitea:, forgejo:, gitlab:https://HOST/OWNER/REPO):
    /// its latest release, or --version.
    #[arg(long, value_name = "SOURCE")]
    pub from: String,

    /// Version to install from a release root (default: its latest stable version).
    #[arg(long)]
    pub version: Option<String>,

    /// Install under PREFIX/bin (default: ~/.local).
    #[arg(long, value_name = "DIR")]
    pub prefix: Option<PathBuf>,

    /// Install the build for this target instead of the detected one.
    #[arg(long, value_name = "TRIPLE")]
    pub target: Option<String>,

    /// Expected sha256 of a bare archive that has no checksums.txt beside it.
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,

    /// Public key the release must be signed with; pinned for later upgrades.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// Refuse releases without a Sigstore bundle for index.json and the archive.
    #[arg(long)]
    pub require_signature: bool,

    /// Refuse a release root whose channels.json is unsigned or past its expiry (a frozen or
    /// rolled-back mirror), instead of warning.
    #[arg(long)]
    pub require_fresh: bool,

    /// Keyless releases: who must have signed; pinned for later upgrades like a key.
    #[command(flatten)]
    pub identity: IdentityArgs,

    /// Reinstall the version even when it is installed intact, and replace a file in bin/ that
    /// relman did not install (it is kept in .relman/backup/).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// Which installed program (needed when several are installed under the prefix).
    pub name: Option<String>,

    /// Release root to upgrade from (default: where it was installed from).
    #[arg(long, value_name = "SOURCE")]
    pub from: Option<String>,

    /// Prefix of the installation (default: ~/.local).
    #[arg(long, value_name = "DIR")]
    pub prefix: Option<PathBuf>,

    /// Install the build for this target instead of the detected one.
    #[arg(long, value_name = "TRIPLE")]
    pub target: Option<String>,

    /// Restore the binaries that the last install or upgrade replaced.
    #[arg(long)]
    pub rollback: bool,

    /// Public key the release must be signed with (default: the key pinned at install).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// Refuse releases without a Sigstore bundle for index.json and the archive.
    #[arg(long)]
    pub require_signature: bool,

    /// Refuse a release root whose channels.json is unsigned or past its expiry (a frozen or
    /// rolled-back mirror), instead of warning.
    #[arg(long)]
    pub require_fresh: bool,
}
