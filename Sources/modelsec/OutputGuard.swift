import Foundation
import ModelSec

/// The one overwrite rule for every command that writes (sign, keygen,
/// encrypt, decrypt, token jwks --out, audit --output, release create): an
/// output that exists is refused with exit 2 and code `output.exists`,
/// naming the path, unless `--force` is given.
///
/// The check runs before any work (no hashing a 20 GB model only to find the
/// signature cannot be written); the writers themselves still refuse an
/// existing file at the final rename, so a file that appears in between is
/// not overwritten either.
enum OutputGuard {
    /// Throws `output.exists` when something exists at `path` and `force`
    /// is false. `-` (standard output) is never refused.
    static func refuseExisting(_ path: String, force: Bool) throws {
        // A directory is no file to overwrite: the writer says so, --force or not.
        // A device or a pipe (/dev/null) is written through, never replaced: nothing to refuse.
        guard !force, path != "-", exists(path), !isDirectory(path), !AtomicFileWriter.isStream(path) else { return }
        throw CLIError(.outputExists, "\(path) already exists; give --force to overwrite it", path: path)
    }

    /// The preamble of a command that writes one file at the end: the
    /// overwrite rule, then the writer's own check that `path` can be
    /// written (its directory exists, it is no directory), before any work.
    static func checkOutputFile(_ path: String, force: Bool) throws {
        try refuseExisting(path, force: force)
        try AtomicFileWriter.checkDestination(path, overwrite: force)
    }

    /// The same rule for an output directory: an empty directory is used as
    /// it is; a non-empty one is refused without `--force`; with `--force`
    /// only a directory that ``isReplaceable`` accepts may be replaced.
    static func refuseExistingDirectory(_ path: String, force: Bool, isReplaceable: (String) -> Bool) throws {
        guard exists(path), !isEmptyDirectory(path) else { return }
        guard force else {
            throw CLIError(.outputExists, "\(path) already exists and is not empty; give --force to replace it", path: path)
        }
        guard isReplaceable(path) else {
            throw CLIError(.outputExists, "\(path) already exists and is not a release directory; --force replaces only a release", path: path)
        }
    }

    /// The rule for an output directory that is never replaced (the deploy
    /// gate's MODEL_DIR, which a running server may be reading): a new or
    /// empty directory is used; anything else is refused with
    /// `output.exists`, `--force` or not, and the message says why.
    static func refuseExistingDirectoryAlways(_ path: String, command: String, why: String) throws {
        guard exists(path), !isEmptyDirectory(path) else { return }
        throw CLIError(.outputExists, "\(path) already exists and is not empty; \(command) never replaces it, --force or not (\(why)): give a new or empty directory", path: path)
    }

    /// Refuses `--json` together with `--output -` in a command whose output
    /// is itself a document (a signature, a report): both would go to stdout.
    static func refuseJSONWithStandardOutput(json: Bool, output: String?) throws {
        if json, output == "-" {
            throw CLIError(.invalidArguments, "--output - and --json both write to standard output: give --output FILE, or leave out --json")
        }
    }

    /// True when anything (a file, a directory, a dangling link) is at `path`.
    static func exists(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0
    }

    /// True when `path` is a directory (not a link to one).
    static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
    }

    /// True when `path` is a directory (not a link to one) with no entries.
    static func isEmptyDirectory(_ path: String) -> Bool {
        var status = stat()
        guard lstat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR else { return false }
        return ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? ["?"]).isEmpty
    }
}
