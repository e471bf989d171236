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
        /// Where it was listed: its index in ``ModelTree/directories``; nil
        /// for a single-file model.
        /// ``ModelTree/Opener`` opens the file through that directory's descriptor.
        public let directoryIndex: Int?

        /// The size when the walk saw it.
        public var size: Int64 { stamp.size }
        /// The path on disk as text, for messages.
        public var displayPath: String { String(decoding: fileSystemPath.dropLast(), as: UTF8.self) }

        /// A file entry.
        public init(path: ModelPath, fileSystemPath: [UInt8], stamp: FileStamp, followedSymlink: Bool, directoryIndex: Int? = nil) {
            self.path = path
            self.fileSystemPath = fileSystemPath
            self.stamp = stamp
            self.followedSymlink = followedSymlink
            self.directoryIndex = directoryIndex
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
        /// The directory it was listed in (its index in ``ModelTree/directories``); nil for the root.
        public let parentIndex: Int?
        /// True when reaching it followed a symbolic link (the root given as
        /// one, or an entry that is one, allowed links only).
        public let followedSymlink: Bool

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
        // The walk goes through directory descriptors: each directory is
        // opened from its parent's descriptor (`O_NOFOLLOW` unless the entry
        // was an allowed link) and must be the directory its entry named
        // (same device and inode), and entries are looked at with `fstatat`,
        // so no string joined from names is ever resolved again.
        var walker = Walker(options: options)
        walker.ancestors.insert(DeviceInode(st))
        walker.visited.insert(DeviceInode(st))
        walker.directories.append(Directory(path: ModelPath(bytes: []), fileSystemPath: rootBytes + [0], stamp: FileStamp(st),
                                            parentIndex: nil, followedSymlink: rootIsLink))
        let rootFD = openDirectory(AT_FDCWD, root, followLink: rootIsLink)
        if rootFD < 0 {
            // As any directory that cannot be listed: recorded when the walk goes on after problems.
            try walker.report(ModelTreeError(path: root, problem: .cannotList(errno: errno)))
        } else {
            defer { close(rootFD) }
            guard sameIdentity(rootFD, st) else { throw ModelTreeError(path: root, problem: .changed) }
            try walker.walkDirectory(rootFD, index: 0, absolute: rootBytes, relative: ModelPath(bytes: []), depth: 0)
        }
        return ModelTree(root: root, isSingleFile: false, files: walker.files.sorted { $0.path < $1.path },
                         directories: walker.directories, problems: walker.problems)
    }

    /// Opens the directory `name` (NUL-terminated, or a String) under `parent`
    /// for listing and for `openat`; `O_NOFOLLOW` unless `followLink`. -1 and errno on failure.
    static func openDirectory(_ parent: Int32, _ name: UnsafePointer<CChar>, followLink: Bool) -> Int32 {
        openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK | (followLink ? 0 : O_NOFOLLOW))
    }

    /// True when the open `fd` is the file `st` describes (device and inode).
    static func sameIdentity(_ fd: Int32, _ st: stat) -> Bool {
        var opened = stat()
        return fstat(fd, &opened) == 0 && opened.st_dev == st.st_dev && opened.st_ino == st.st_ino
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
        try locateTree(path, in: given, options: options).files[0]
    }

    /// ``locate(_:in:options:)`` as a tree: its one file, and the directories
    /// on the way to it (the root first), each with the stamp it had when it
    /// was looked at, so ``Opener`` opens the file through them as it opens
    /// the files of a whole walk.
    ///
    /// - Throws: ``ModelTreeError``; `.missing` when no such file exists.
    public static func locateTree(_ path: ModelPath, in given: String, options: Options = Options()) throws -> ModelTree {
        let root = withoutTrailingSlashes(given)
        if path == .singleFileRoot {
            let tree = try walk(root, options: options)
            guard tree.isSingleFile, !tree.files.isEmpty else { throw ModelTreeError(path: root, problem: .notRegularFile) }
            return tree
        }
        var absolute = Array(root.utf8)
        var st = stat()
        guard lstat(root, &st) == 0 else { throw ModelTreeError(path: root, problem: .cannotRead(errno: errno)) }
        let rootIsLink = isType(st, S_IFLNK)
        if rootIsLink {
            guard options.allowSymlinks else { throw ModelTreeError(path: root, problem: .symbolicLink) }
            guard stat(root, &st) == 0 else { throw ModelTreeError(path: root, problem: .brokenSymbolicLink) }
        }
        guard isType(st, S_IFDIR) else { throw ModelTreeError(path: root, problem: .notDirectory) }
        var directories = [Directory(path: ModelPath(bytes: []), fileSystemPath: absolute + [0], stamp: FileStamp(st),
                                     parentIndex: nil, followedSymlink: rootIsLink)]
        var lastIsLink = false
        var relative = ModelPath(bytes: [])
        let components = path.components
        for (index, component) in components.enumerated() {
            absolute += [UInt8(ascii: "/")] + component
            relative = relative.appending(component)
            let shown = String(decoding: absolute, as: UTF8.self)
            guard lstat(absolute + [0], &st) == 0 else {
                throw ModelTreeError(path: shown, problem: errno == ENOENT || errno == ENOTDIR ? .missing : .cannotRead(errno: errno))
            }
            let isLink = isType(st, S_IFLNK)
            if isLink {
                guard options.allowSymlinks else { throw ModelTreeError(path: shown, problem: .symbolicLink) }
                guard stat(absolute + [0], &st) == 0 else { throw ModelTreeError(path: shown, problem: .brokenSymbolicLink) }
            }
            lastIsLink = isLink
            if index < components.count - 1 {
                guard isType(st, S_IFDIR) else { throw ModelTreeError(path: shown, problem: .missing) }
                directories.append(Directory(path: relative, fileSystemPath: absolute + [0], stamp: FileStamp(st),
                                             parentIndex: directories.count - 1, followedSymlink: isLink))
            } else {
                guard isType(st, S_IFREG) else {
                    throw ModelTreeError(path: shown, problem: isType(st, S_IFDIR) ? .notRegularFile : .specialFile)
                }
            }
        }
        // As in a walk, the file "followed a link" when its own entry is one
        // (links on the way are recorded on the directories).
        let file = File(path: path, fileSystemPath: absolute + [0], stamp: FileStamp(st), followedSymlink: lastIsLink,
                        directoryIndex: directories.count - 1)
        return ModelTree(root: root, isSingleFile: false, files: [file], directories: directories, problems: [])
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
    /// This opens `file` by its path on disk; ``Opener`` opens the files of a
    /// walked tree through their directories' descriptors instead.
    ///
    /// - Throws: ``ModelTreeError`` with `.cannotRead`, `.notRegularFile` or `.changed`.
    public static func openUnchanged(_ file: File) throws -> Int32 {
        try file.fileSystemPath.withUnsafeBufferPointer {
            try openUnchanged(file, in: AT_FDCWD, name: UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self))
        }
    }

    /// The one open-and-check of a walked file: `name` opened under the
    /// directory descriptor `directory` (or `AT_FDCWD`), as ``openUnchanged(_:)`` says.
    static func openUnchanged(_ file: File, in directory: Int32, name: UnsafePointer<CChar>) throws -> Int32 {
        let flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | (file.followedSymlink ? 0 : O_NOFOLLOW)
        let fd = openat(directory, name, flags)
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

        /// Lists the open directory `fd` (``ModelTree/directories`` entry
        /// `index`) and walks every entry from that descriptor.
        mutating func walkDirectory(_ fd: Int32, index: Int, absolute: [UInt8], relative: ModelPath, depth: Int) throws {
            let names: [[UInt8]]
            do {
                names = try listDirectory(fd, absolute: absolute)
            } catch let error as ModelTreeError {
                // The entry count limit is never skipped over: stop there.
                if error.endsTheWalk { throw error }
                return try report(error)
            }
            for name in names {
                do {
                    try walkEntry(name, in: fd, index: index, absolute: absolute, relative: relative, depth: depth)
                } catch let error as ModelTreeError {
                    if error.endsTheWalk { throw error }
                    try report(error)
                }
            }
        }

        mutating func walkEntry(_ name: [UInt8], in directory: Int32, index: Int, absolute: [UInt8], relative: ModelPath, depth: Int) throws {
            let path = relative.appending(name)
            if !options.ignoring.isEmpty, options.ignoring.contains(where: { path.isWithin($0) }) { return }
            // The path on disk, NUL-terminated (what File keeps); its tail is
            // the entry's name, NUL-terminated, for the *at calls.
            var full: [UInt8] = []
            full.reserveCapacity(absolute.count + name.count + 2)
            full += absolute
            full.append(UInt8(ascii: "/"))
            full += name
            full.append(0)
            let nameOffset = absolute.count + 1
            func shown() -> String { String(decoding: full.dropLast(), as: UTF8.self) }
            // ASCII (nearly every name) is valid UTF-8 without building a String.
            guard name.allSatisfy({ $0 < 0x80 }) || String(validating: name, as: UTF8.self) != nil else {
                throw ModelTreeError(path: shown(), problem: .nameNotUTF8)
            }
            var st = stat()
            let statFailure: Int32? = full.withUnsafeBufferPointer { buffer in
                let cName = UnsafeRawPointer(buffer.baseAddress! + nameOffset).assumingMemoryBound(to: CChar.self)
                return fstatat(directory, cName, &st, AT_SYMLINK_NOFOLLOW) == 0 ? nil : errno
            }
            if let code = statFailure { throw ModelTreeError(path: shown(), problem: .cannotRead(errno: code)) }
            let isLink = ModelTree.isType(st, S_IFLNK)
            if isLink {
                guard options.allowSymlinks else { throw ModelTreeError(path: shown(), problem: .symbolicLink) }
                let followed = full.withUnsafeBufferPointer { buffer in
                    fstatat(directory, UnsafeRawPointer(buffer.baseAddress! + nameOffset).assumingMemoryBound(to: CChar.self), &st, 0) == 0
                }
                guard followed else { throw ModelTreeError(path: shown(), problem: .brokenSymbolicLink) }
            }
            if ModelTree.isType(st, S_IFREG) {
                files.append(File(path: path, fileSystemPath: full, stamp: FileStamp(st), followedSymlink: isLink, directoryIndex: index))
            } else if ModelTree.isType(st, S_IFDIR) {
                guard depth + 1 <= options.maxDepth else {
                    throw ModelTreeError(path: shown(), problem: .tooDeep(limit: options.maxDepth))
                }
                let id = DeviceInode(st)
                guard !ancestors.contains(id) else { throw ModelTreeError(path: shown(), problem: .symbolicLinkLoop) }
                if !visited.insert(id).inserted {
                    repeatedDirectories += 1
                    guard repeatedDirectories <= options.maxRepeatedDirectories else {
                        throw ModelTreeError(path: shown(), problem: .tooManyRepeatedDirectories(limit: options.maxRepeatedDirectories))
                    }
                }
                directories.append(Directory(path: path, fileSystemPath: full, stamp: FileStamp(st), parentIndex: index, followedSymlink: isLink))
                // Opened from its parent's descriptor, and it must be the
                // directory fstatat saw (a link swapped in meanwhile is not followed).
                let child = full.withUnsafeBufferPointer { buffer in
                    ModelTree.openDirectory(directory, UnsafeRawPointer(buffer.baseAddress! + nameOffset).assumingMemoryBound(to: CChar.self),
                                            followLink: isLink)
                }
                guard child >= 0 else { throw ModelTreeError(path: shown(), problem: .cannotList(errno: errno)) }
                defer { close(child) }
                guard ModelTree.sameIdentity(child, st) else { throw ModelTreeError(path: shown(), problem: .changed) }
                ancestors.insert(id)
                defer { ancestors.remove(id) }
                try walkDirectory(child, index: directories.count - 1, absolute: Array(full.dropLast()), relative: path, depth: depth + 1)
            } else {
                throw ModelTreeError(path: shown(), problem: .specialFile)
            }
        }

        /// The entry names of the open directory `fd` as raw bytes, without `.` and `..`.
        private mutating func listDirectory(_ fd: Int32, absolute: [UInt8]) throws -> [[UInt8]] {
            func shown() -> String { String(decoding: absolute, as: UTF8.self) }
            // fdopendir takes the descriptor it is given: a duplicate, so the
            // walk keeps `fd` for the entries' *at calls.
            let copy = dup(fd)
            guard copy >= 0 else { throw ModelTreeError(path: shown(), problem: .cannotList(errno: errno)) }
            guard let dir = fdopendir(copy) else {
                let code = errno
                close(copy)
                throw ModelTreeError(path: shown(), problem: .cannotList(errno: code))
            }
            defer { closedir(dir) }
            var names: [[UInt8]] = []
            while true {
                errno = 0
                guard let entry = readdir(dir) else {
                    if errno != 0 { throw ModelTreeError(path: shown(), problem: .cannotList(errno: errno)) }
                    break
                }
                let name: [UInt8]? = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    let length = raw.firstIndex(of: 0) ?? raw.count
                    if length == 1 && raw[0] == UInt8(ascii: ".") || length == 2 && raw[0] == UInt8(ascii: ".") && raw[1] == UInt8(ascii: ".") {
                        return nil
                    }
                    return Array(raw[..<length])
                }
                guard let name else { continue }
                entriesSeen += 1
                guard entriesSeen <= options.maxEntries else {
                    throw ModelTreeError(path: shown(), problem: .tooManyEntries(limit: options.maxEntries))
                }
                names.append(name)
            }
            return names
        }
    }
}

extension ModelTree {
    /// Opens the files of a walked tree through directory descriptors, so no
    /// path string is resolved again after the walk: the root is opened by
    /// its path, every directory below it with `openat` from its parent's
    /// descriptor, and the file with `openat` from its own directory's. Each
    /// step uses `O_NOFOLLOW` unless the walk followed an (allowed) link
    /// there, and each directory must be the one the walk listed (same
    /// device and inode), so a directory or file swapped for a symbolic link
    /// after the walk makes the open fail (`.changed` or `.cannotRead`)
    /// instead of reading outside the model. The file itself is checked as
    /// ``ModelTree/openUnchanged(_:)`` checks it.
    ///
    /// An opener keeps the descriptors of the last directory it used and of
    /// that directory's ancestors (at most the walk's depth + 1), so the files
    /// of one directory cost one `openat` each. It is not thread-safe: use
    /// one per thread (``ParallelWork`` lane).
    public final class Opener {
        private let directories: [Directory]
        /// The open chain: root first, each entry a child of the one before.
        private var chain: [(index: Int, fd: Int32)] = []

        /// An opener for the files of `tree`.
        public init(_ tree: ModelTree) { directories = tree.directories }

        deinit { for entry in chain { close(entry.fd) } }

        /// Opens `file` (one of the tree's files) for reading; the caller
        /// closes the descriptor. A file with no directory (a single-file
        /// model) is opened by its path, as ``ModelTree/openUnchanged(_:)`` does.
        ///
        /// - Throws: ``ModelTreeError`` with `.cannotRead`, `.notRegularFile` or `.changed`.
        public func openUnchanged(_ file: File) throws -> Int32 {
            guard let index = file.directoryIndex, directories.indices.contains(index) else {
                return try ModelTree.openUnchanged(file)
            }
            let directory = try descriptor(of: index)
            return try file.fileSystemPath.withUnsafeBufferPointer { buffer in
                let name = Opener.nameOffset(buffer)
                return try ModelTree.openUnchanged(file, in: directory,
                                                   name: UnsafeRawPointer(buffer.baseAddress! + name).assumingMemoryBound(to: CChar.self))
            }
        }

        /// Where the last component of a NUL-terminated path on disk starts.
        private static func nameOffset(_ path: UnsafeBufferPointer<UInt8>) -> Int {
            var i = path.count - 1
            while i > 0, path[i - 1] != UInt8(ascii: "/") { i -= 1 }
            return i
        }

        /// The open descriptor of directory `index`, opening what is missing
        /// of its chain from the deepest ancestor already open.
        private func descriptor(of index: Int) throws -> Int32 {
            if let last = chain.last, last.index == index { return last.fd }
            var wanted: [Int] = []
            var next: Int? = index
            while let current = next {
                wanted.append(current)
                guard wanted.count <= directories.count else { break }   // parent indices always point up: never loops
                next = directories[current].parentIndex
            }
            wanted.reverse()
            var kept = 0
            while kept < chain.count, kept < wanted.count, chain[kept].index == wanted[kept] { kept += 1 }
            while chain.count > kept { close(chain.removeLast().fd) }
            for position in kept..<wanted.count {
                let directory = directories[wanted[position]]
                let parent = position == 0 ? AT_FDCWD : chain[position - 1].fd
                let fd = directory.fileSystemPath.withUnsafeBufferPointer { buffer -> Int32 in
                    // The root by its path as given; below it, the entry's name.
                    let name = position == 0 ? 0 : Opener.nameOffset(buffer)
                    return ModelTree.openDirectory(parent, UnsafeRawPointer(buffer.baseAddress! + name).assumingMemoryBound(to: CChar.self),
                                                   followLink: directory.followedSymlink)
                }
                guard fd >= 0 else {
                    let code = errno
                    // A link or a file where the walk saw a directory: not what was walked.
                    throw ModelTreeError(path: directory.displayPath, problem: code == ELOOP || code == ENOTDIR ? .changed : .cannotRead(errno: code))
                }
                var st = stat()
                guard fstat(fd, &st) == 0, UInt64(st.st_dev) == directory.stamp.device, UInt64(st.st_ino) == directory.stamp.inode else {
                    close(fd)
                    throw ModelTreeError(path: directory.displayPath, problem: .changed)
                }
                chain.append((wanted[position], fd))
            }
            return chain[chain.count - 1].fd
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
