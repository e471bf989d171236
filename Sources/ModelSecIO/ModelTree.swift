#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The files of a model, found by walking it: the one walker that signing,
/// releasing and scanning all use, so that they agree on which files a model
/// has and what each one is called.
///
/// Rules (the same for every caller):
/// - Names are kept as the raw bytes `readdir(3)` returns and must be valid
///   UTF-8; paths are ``ModelPath``s relative to the root, built by joining
///   names with `/`, never by cutting a prefix off a string (so `model`,
///   `model/` and `./model` give the same paths).
/// - Dotfiles are included. A path equal to or under one of
///   ``Options/ignoring`` is left out (with everything below it).
/// - A symbolic link is an error unless ``Options/allowSymlinks`` is set; then
///   a link to a file counts as that file and a link to a directory is walked,
///   with loops refused. A directory may be reached again through another
///   link, but at most ``Options/maxRepeatedDirectories`` such repeats in
///   all, so links fanning out to the same place cannot make the walk grow
///   exponentially.
/// - Sockets, FIFOs and devices are errors: a model holds regular files only.
/// - Nesting deeper than ``Options/maxDepth`` and more than
///   ``Options/maxEntries`` entries are errors, found before anything is
///   allocated for them.
///
/// Every file and directory carries a ``FileStamp`` taken when it was seen,
/// so a caller can refuse a model that changed while it was being read.
public struct ModelTree: Sendable {
    /// How to walk.
    public struct Options: Sendable {
        /// Paths (relative to the root) left out, with everything under them.
        public var ignoring: [ModelPath]
        /// Follow symbolic links instead of refusing them.
        public var allowSymlinks: Bool
        /// The deepest directory nesting walked.
        public var maxDepth: Int
        /// The most directory entries looked at in all.
        public var maxEntries: Int
        /// How many times in all a directory may be walked again after its
        /// first visit (reached through another symbolic link).
        public var maxRepeatedDirectories: Int = 1024
        /// Record entries that break a rule in ``ModelTree/problems`` and go
        /// on with the rest, instead of throwing at the first one. For a
        /// scanner, which must report everything it can still read; a signer
        /// or releaser throws, so nothing is signed around a refused entry.
        public var continueAfterProblems: Bool

        /// The nesting limit used everywhere unless a caller has a reason to differ.
        public static let defaultMaxDepth = 128

        /// Options; by default nothing is ignored and links are refused.
        public init(ignoring: [ModelPath] = [], allowSymlinks: Bool = false, maxDepth: Int = ModelTree.Options.defaultMaxDepth,
                    maxEntries: Int = 10_000_000, continueAfterProblems: Bool = false) {
            self.ignoring = ignoring
            self.allowSymlinks = allowSymlinks
            self.maxDepth = maxDepth
            self.maxEntries = maxEntries
            self.continueAfterProblems = continueAfterProblems
        }
    }

    /// One regular file of the model.
    public struct File: Sendable {
        /// The path relative to the root (``ModelPath/singleFileRoot`` for a single-file model).
        public let path: ModelPath
        /// The path on disk as NUL-terminated bytes, ready for `open(2)`.
        public let fileSystemPath: [UInt8]
        /// Identity, size and timestamps when the walk saw it.
        public let stamp: FileStamp
        /// True when reaching it followed a symbolic link (allowed links only).
        public let followedSymlink: Bool

        /// The size when the walk saw it.
        public var size: Int64 { stamp.size }
        /// The path on disk as text, for messages.
        public var displayPath: String { String(decoding: fileSystemPath.dropLast(), as: UTF8.self) }

        /// A file entry.
        public init(path: ModelPath, fileSystemPath: [UInt8], stamp: FileStamp, followedSymlink: Bool) {
            self.path = path
            self.fileSystemPath = fileSystemPath
            self.stamp = stamp
            self.followedSymlink = followedSymlink
        }
    }

    /// One directory of the model, as listed.
    public struct Directory: Sendable {
        /// The path relative to the root (empty bytes for the root).
        public let path: ModelPath
        /// The path on disk, NUL-terminated.
        public let fileSystemPath: [UInt8]
        /// Its stamp when it was listed: entries added, removed or renamed change it.
        public let stamp: FileStamp

        /// The path on disk as text, for messages.
        public var displayPath: String { String(decoding: fileSystemPath.dropLast(), as: UTF8.self) }
    }

    /// The root as given.
    public let root: String
    /// True when the root is one regular file rather than a directory.
    public let isSingleFile: Bool
    /// Every regular file not ignored, sorted in ``ModelPath`` order.
    public let files: [File]
    /// Every directory walked, the root first; empty for a single file.
    public let directories: [Directory]
    /// Entries that broke a rule, when ``Options/continueAfterProblems`` is
    /// set (otherwise the walk throws the first one); empty when none did.
    public let problems: [ModelTreeError]

    /// Walks `root` (a directory, or one regular file).
    ///
    /// - Throws: ``ModelTreeError`` naming the entry that breaks a rule or
    ///   cannot be read.
    public static func walk(_ given: String, options: Options = Options()) throws -> ModelTree {
        let root = withoutTrailingSlashes(given)
        let rootBytes = Array(root.utf8)
        guard !rootBytes.isEmpty, !rootBytes.contains(0) else {
            throw ModelTreeError(path: root, problem: .cannotRead(errno: ENOENT))
        }
        var st = stat()
        guard lstat(root, &st) == 0 else { throw ModelTreeError(path: root, problem: .cannotRead(errno: errno)) }
        let rootIsLink = isType(st, S_IFLNK)
        if rootIsLink {
            guard options.allowSymlinks else { throw ModelTreeError(path: root, problem: .symbolicLink) }
            guard stat(root, &st) == 0 else { throw ModelTreeError(path: root, problem: .brokenSymbolicLink) }
        }
        if isType(st, S_IFREG) {
            let file = File(path: .singleFileRoot, fileSystemPath: rootBytes + [0], stamp: FileStamp(st), followedSymlink: rootIsLink)
            return ModelTree(root: root, isSingleFile: true, files: [file], directories: [], problems: [])
        }
        guard isType(st, S_IFDIR) else { throw ModelTreeError(path: root, problem: .specialFile) }
        var walker = Walker(options: options)
        walker.ancestors.insert(DeviceInode(st))
        walker.visited.insert(DeviceInode(st))
        walker.directories.append(Directory(path: ModelPath(bytes: []), fileSystemPath: rootBytes + [0], stamp: FileStamp(st)))
        try walker.walkDirectory(absolute: rootBytes, relative: ModelPath(bytes: []), depth: 0)
        return ModelTree(root: root, isSingleFile: false, files: walker.files.sorted { $0.path < $1.path },
                         directories: walker.directories, problems: walker.problems)
    }

    /// `path` without trailing slashes (`/` stays `/`): `model/` names the
    /// same model as `model`, its files are `model/x`, not `model//x`, and a
    /// symbolic link given as `link/` is looked at as the link it is (a
    /// trailing slash would make `lstat` follow it).
    static func withoutTrailingSlashes(_ path: String) -> String {
        var bytes = Array(path.utf8)
        while bytes.count > 1, bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Finds one file of the model at `root` by its relative path, applying
    /// the walk's rules to every component on the way: each directory on the
    /// path and the file itself is looked at with `lstat`, so a symbolic link
    /// anywhere on the path is refused unless links are allowed, exactly as a
    /// whole walk would refuse it.
    ///
    /// - Throws: ``ModelTreeError``; `.missing` when no such file exists.
    public static func locate(_ path: ModelPath, in given: String, options: Options = Options()) throws -> File {
        let root = withoutTrailingSlashes(given)
        if path == .singleFileRoot {
            let tree = try walk(root, options: options)
            guard tree.isSingleFile, let file = tree.files.first else { throw ModelTreeError(path: root, problem: .notRegularFile) }
            return file
        }
        var absolute = Array(root.utf8)
        var st = stat()
        guard lstat(root, &st) == 0 else { throw ModelTreeError(path: root, problem: .cannotRead(errno: errno)) }
        if isType(st, S_IFLNK) {
            guard options.allowSymlinks else { throw ModelTreeError(path: root, problem: .symbolicLink) }
            guard stat(root, &st) == 0 else { throw ModelTreeError(path: root, problem: .brokenSymbolicLink) }
        }
        guard isType(st, S_IFDIR) else { throw ModelTreeError(path: root, problem: .notDirectory) }
        var followed = false
        let components = path.components
        for (index, component) in components.enumerated() {
            absolute += [UInt8(ascii: "/")] + component
            let shown = String(decoding: absolute, as: UTF8.self)
            guard lstat(absolute + [0], &st) == 0 else {
                throw ModelTreeError(path: shown, problem: errno == ENOENT || errno == ENOTDIR ? .missing : .cannotRead(errno: errno))
            }
            if isType(st, S_IFLNK) {
                guard options.allowSymlinks else { throw ModelTreeError(path: shown, problem: .symbolicLink) }
                guard stat(absolute + [0], &st) == 0 else { throw ModelTreeError(path: shown, problem: .brokenSymbolicLink) }
                followed = true
            }
            if index < components.count - 1 {
                guard isType(st, S_IFDIR) else { throw ModelTreeError(path: shown, problem: .missing) }
            } else {
                guard isType(st, S_IFREG) else {
                    throw ModelTreeError(path: shown, problem: isType(st, S_IFDIR) ? .notRegularFile : .specialFile)
                }
            }
        }
        return File(path: path, fileSystemPath: absolute + [0], stamp: FileStamp(st), followedSymlink: followed)
    }

    /// The directories whose entries changed since the walk (paths on disk),
    /// in walk order; empty when none did.
    public func directoriesChangedSinceWalk() -> [String] {
        directories.filter { FileStamp.of(path: $0.fileSystemPath) != $0.stamp }.map(\.displayPath)
    }

    /// The first file (path on disk) that is not as the walk saw it: written,
    /// truncated, replaced or removed. Nil when none changed.
    public func firstFileChangedSinceWalk() -> String? {
        files.first { FileStamp.of(path: $0.fileSystemPath) != $0.stamp }?.displayPath
    }

    /// Opens `file` for reading and checks that it is still exactly what the
    /// walk saw: a regular file (opened non-blocking, so a FIFO swapped in
    /// cannot hang the open; `O_NOFOLLOW` unless the walk followed a link)
    /// with the same inode, size and timestamps. The caller closes the descriptor.
    ///
    /// - Throws: ``ModelTreeError`` with `.cannotRead`, `.notRegularFile` or `.changed`.
    public static func openUnchanged(_ file: File) throws -> Int32 {
        let flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | (file.followedSymlink ? 0 : O_NOFOLLOW)
        let fd = file.fileSystemPath.withUnsafeBufferPointer {
            open(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), flags)
        }
        guard fd >= 0 else { throw ModelTreeError(path: file.displayPath, problem: .cannotRead(errno: errno)) }
        var st = stat()
        guard fstat(fd, &st) == 0, isType(st, S_IFREG) else {
            close(fd)
            throw ModelTreeError(path: file.displayPath, problem: .notRegularFile)
        }
        guard FileStamp(st) == file.stamp else {
            close(fd)
            throw ModelTreeError(path: file.displayPath, problem: .changed)
        }
        return fd
    }

    static func isType(_ st: stat, _ type: mode_t) -> Bool { (st.st_mode & S_IFMT) == type }

    private struct DeviceInode: Hashable {
        let device: UInt64
        let inode: UInt64
        init(_ st: stat) {
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
        }
    }

    private struct Walker {
        let options: Options
        var files: [File] = []
        var directories: [Directory] = []
        var ancestors: Set<DeviceInode> = []
        var visited: Set<DeviceInode> = []
        var problems: [ModelTreeError] = []
        var entriesSeen = 0
        var repeatedDirectories = 0

        init(options: Options) { self.options = options }

        /// Throws `problem`, or records it and lets the walk go on.
        mutating func report(_ problem: ModelTreeError) throws {
            guard options.continueAfterProblems else { throw problem }
            problems.append(problem)
        }

        mutating func walkDirectory(absolute: [UInt8], relative: ModelPath, depth: Int) throws {
            let names: [[UInt8]]
            do {
                names = try listDirectory(absolute)
            } catch let error as ModelTreeError {
                // The entry count limit is never skipped over: stop there.
                if error.endsTheWalk { throw error }
                return try report(error)
            }
            for name in names {
                do {
                    try walkEntry(name, absolute: absolute, relative: relative, depth: depth)
                } catch let error as ModelTreeError {
                    if error.endsTheWalk { throw error }
                    try report(error)
                }
            }
        }

        mutating func walkEntry(_ name: [UInt8], absolute: [UInt8], relative: ModelPath, depth: Int) throws {
            let path = relative.appending(name)
            if options.ignoring.contains(where: { path.isWithin($0) }) { return }
            let full = absolute + [UInt8(ascii: "/")] + name
            let shown = String(decoding: full, as: UTF8.self)
            guard String(validating: name, as: UTF8.self) != nil else {
                throw ModelTreeError(path: shown, problem: .nameNotUTF8)
            }
            var st = stat()
            guard lstat(full + [0], &st) == 0 else { throw ModelTreeError(path: shown, problem: .cannotRead(errno: errno)) }
            let isLink = ModelTree.isType(st, S_IFLNK)
            if isLink {
                guard options.allowSymlinks else { throw ModelTreeError(path: shown, problem: .symbolicLink) }
                guard stat(full + [0], &st) == 0 else { throw ModelTreeError(path: shown, problem: .brokenSymbolicLink) }
            }
            if ModelTree.isType(st, S_IFREG) {
                files.append(File(path: path, fileSystemPath: full + [0], stamp: FileStamp(st), followedSymlink: isLink))
            } else if ModelTree.isType(st, S_IFDIR) {
                guard depth + 1 <= options.maxDepth else {
                    throw ModelTreeError(path: shown, problem: .tooDeep(limit: options.maxDepth))
                }
                let id = DeviceInode(st)
                guard !ancestors.contains(id) else { throw ModelTreeError(path: shown, problem: .symbolicLinkLoop) }
                if !visited.insert(id).inserted {
                    repeatedDirectories += 1
                    guard repeatedDirectories <= options.maxRepeatedDirectories else {
                        throw ModelTreeError(path: shown, problem: .tooManyRepeatedDirectories(limit: options.maxRepeatedDirectories))
                    }
                }
                ancestors.insert(id)
                defer { ancestors.remove(id) }
                directories.append(Directory(path: path, fileSystemPath: full + [0], stamp: FileStamp(st)))
                try walkDirectory(absolute: full, relative: path, depth: depth + 1)
            } else {
                throw ModelTreeError(path: shown, problem: .specialFile)
            }
        }

        /// The entry names of a directory as raw bytes, without `.` and `..`.
        private mutating func listDirectory(_ absolute: [UInt8]) throws -> [[UInt8]] {
            let shown = String(decoding: absolute, as: UTF8.self)
            guard let dir = opendir(absolute.map { CChar(bitPattern: $0) } + [0]) else {
                throw ModelTreeError(path: shown, problem: .cannotList(errno: errno))
            }
            defer { closedir(dir) }
            var names: [[UInt8]] = []
            while true {
                errno = 0
                guard let entry = readdir(dir) else {
                    if errno != 0 { throw ModelTreeError(path: shown, problem: .cannotList(errno: errno)) }
                    break
                }
                let name: [UInt8] = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
                if name == [UInt8(ascii: ".")] || name == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
                entriesSeen += 1
                guard entriesSeen <= options.maxEntries else {
                    throw ModelTreeError(path: shown, problem: .tooManyEntries(limit: options.maxEntries))
                }
                names.append(name)
            }
            return names
        }
    }
}

/// Why a model could not be walked, or one of its files opened.
public struct ModelTreeError: ModelSecError, Equatable {
    /// What is wrong.
    public enum Problem: Hashable, Sendable {
        /// `lstat`/`open` failed with this errno.
        case cannotRead(errno: Int32)
        /// `opendir`/`readdir` failed with this errno.
        case cannotList(errno: Int32)
        /// A symbolic link, and links are not allowed.
        case symbolicLink
        /// A symbolic link whose target does not exist.
        case brokenSymbolicLink
        /// A link to a directory that contains it.
        case symbolicLinkLoop
        /// More repeated visits of directories (through symbolic links) than the limit.
        case tooManyRepeatedDirectories(limit: Int)
        /// A socket, FIFO or device.
        case specialFile
        /// A name that is not valid UTF-8.
        case nameNotUTF8
        /// Directories nested deeper than the limit.
        case tooDeep(limit: Int)
        /// More directory entries than the limit.
        case tooManyEntries(limit: Int)
        /// Not a regular file where one was expected (or no longer one).
        case notRegularFile
        /// Not a directory where one was expected.
        case notDirectory
        /// The file is not there.
        case missing
        /// The file's inode, size or timestamps differ from when it was walked.
        case changed

        /// The stable identifier of the problem (`model.` and the problem).
        public var code: String {
            switch self {
            case .cannotRead: return "model.unreadable"
            case .cannotList: return "model.unlistable-directory"
            case .symbolicLink: return "model.symbolic-link"
            case .brokenSymbolicLink: return "model.broken-symbolic-link"
            case .symbolicLinkLoop: return "model.symbolic-link-loop"
            case .tooManyRepeatedDirectories: return "model.too-many-repeated-directories"
            case .specialFile: return "model.special-file"
            case .nameNotUTF8: return "model.name-not-utf8"
            case .tooDeep: return "model.too-deep"
            case .tooManyEntries: return "model.too-many-entries"
            case .notRegularFile: return "model.not-regular-file"
            case .notDirectory: return "model.not-directory"
            case .missing: return "model.missing"
            case .changed: return "model.changed-while-read"
            }
        }
    }

    /// The entry involved, as a path on disk.
    public let file: String
    /// What is wrong with it.
    public let problem: Problem

    /// An error about `path`.
    public init(path: String, problem: Problem) {
        self.file = path
        self.problem = problem
    }

    public var category: FailureCategory { .invalidInput }

    public var code: String { problem.code }

    public var path: String? { file }

    public var description: String { "\(file): \(reason)" }

    /// Limits on the whole walk are never stepped over, even when the walk
    /// goes on after other problems.
    var endsTheWalk: Bool {
        switch problem {
        case .tooManyEntries, .tooManyRepeatedDirectories: return true
        default: return false
        }
    }

    /// What is wrong, without the path.
    public var reason: String {
        switch problem {
        case let .cannotRead(code): return "cannot read: \(FileIO.errnoDescription(code))"
        case let .cannotList(code): return "cannot list the directory: \(FileIO.errnoDescription(code))"
        case .symbolicLink: return "is a symbolic link; symbolic links are refused unless allowed"
        case .brokenSymbolicLink: return "is a broken symbolic link"
        case .symbolicLinkLoop: return "a symbolic link loop (the directory contains itself)"
        case let .tooManyRepeatedDirectories(limit): return "symbolic links reach the same directories more than \(limit) times; refusing a walk that would grow without bound"
        case .specialFile: return "is a special file (socket, FIFO or device); a model holds regular files and directories only"
        case .nameNotUTF8: return "the file name is not valid UTF-8"
        case let .tooDeep(limit): return "directories nested more than \(limit) levels deep"
        case let .tooManyEntries(limit): return "more than \(limit) directory entries in the model"
        case .notRegularFile: return "is not a regular file"
        case .notDirectory: return "is not a directory"
        case .missing: return "no such file"
        case .changed: return "changed while it was being read (its size, timestamps or inode differ from when the model was listed); run again once nothing is writing to the model"
        }
    }
}
