import Foundation

/// A throwaway PostgreSQL cluster for tests: `initdb` and `pg_ctl` (Debian's
/// `postgresql` package, /usr/lib/postgresql/VERSION/bin) in a temporary
/// directory, listening on 127.0.0.1 only, on a private port, with
/// scram-sha-256 password authentication. Owned by the current user, or,
/// when the tests run as root (PostgreSQL refuses to run as root), by the
/// unprivileged `postgres` user through `runuser`. Starting it never
/// silently skips: ``shared()`` throws the reason (no binaries, initdb or
/// pg_ctl output) and the test fails with it.
public final class PostgresCluster: @unchecked Sendable {
    // @unchecked Sendable: every property is set in init and never changed; restart/stop run the tools only.
    /// The superuser role created by initdb.
    public let user = "modelsec"
    /// Its password (a test secret; the cluster listens on loopback only).
    public let password: String
    /// The TCP port.
    public private(set) var port = 0
    /// The directory holding the data directory, socket and log.
    public let root: URL
    /// The binaries directory.
    let bin: String
    /// The user the server runs as when the tests run as root.
    let runAs: String?

    /// Why the cluster could not be started.
    public struct StartFailure: Error, CustomStringConvertible {
        /// The reason, with the tool's output.
        public let description: String
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var started: Result<PostgresCluster, StartFailure>?

    /// The cluster shared by the tests of this process (started on first use, stopped at exit).
    public static func shared() throws -> PostgresCluster {
        lock.lock()
        defer { lock.unlock() }
        if let started { return try started.get() }
        do {
            let cluster = try PostgresCluster()
            started = .success(cluster)
            atexit { PostgresCluster.stopShared() }
            return cluster
        } catch let failure as StartFailure {
            started = .failure(failure)
            throw failure
        } catch {
            let failure = StartFailure(description: "PostgreSQL test cluster: \(error)")
            started = .failure(failure)
            throw failure
        }
    }

    private static func stopShared() {
        if case .success(let cluster) = started { cluster.stop() }
    }

    /// The newest /usr/lib/postgresql/*/bin holding initdb.
    static func binDirectory() -> String? {
        let base = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).compactMap(Int.init).sorted(by: >)
        for v in versions where FileManager.default.isExecutableFile(atPath: "\(base)/\(v)/bin/initdb") { return "\(base)/\(v)/bin" }
        return nil
    }

    init() throws {
        guard let bin = Self.binDirectory() else {
            throw StartFailure(description: "PostgreSQL is not installed: no /usr/lib/postgresql/*/bin/initdb (install Debian's postgresql package: scripts/install-deps.sh)")
        }
        self.bin = bin
        runAs = geteuid() == 0 ? "postgres" : nil
        password = UUID().uuidString
        root = URL(fileURLWithPath: "/tmp/modelsec-pg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        let pwfile = root.appendingPathComponent("pw")
        try Data(password.utf8).write(to: pwfile)
        if let runAs {
            let chown = try Self.spawn(["/bin/chown", "-R", "\(runAs):\(runAs)", root.path], environment: [:], directory: "/tmp")
            guard chown.status == 0 else { throw StartFailure(description: "cannot give \(root.path) to \(runAs): \(chown.stdoutText)") }
        }
        let initdb = try tool("initdb", ["-D", root.appendingPathComponent("data").path, "-U", user, "--pwfile", pwfile.path,
                                          "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
        guard initdb.status == 0 else { throw StartFailure(description: "initdb failed: \(initdb.stdoutText)") }
        try? FileManager.default.removeItem(at: pwfile)
        var lastFailure = ""
        for _ in 0..<5 {
            let candidate = Int.random(in: 20000...60000)
            port = candidate
            let start = try tool("pg_ctl", ["-D", root.appendingPathComponent("data").path, "-l", root.appendingPathComponent("log").path,
                                            "-w", "-t", "60", "-o", serverOptions, "start"])
            if start.status == 0 { return }
            lastFailure = start.stdoutText + ((try? String(contentsOf: root.appendingPathComponent("log"), encoding: .utf8)) ?? "")
        }
        throw StartFailure(description: "pg_ctl start failed: \(lastFailure)")
    }

    /// Runs a PostgreSQL tool (as the cluster's owner).
    @discardableResult
    func tool(_ name: String, _ arguments: [String], environment: [String: String]? = nil) throws -> TestSupport.ProcessResult {
        var argv = ["\(bin)/\(name)"] + arguments
        if let runAs {
            argv = ["/usr/sbin/runuser", "-u", runAs, "--", "/usr/bin/env"] + (environment ?? [:]).map { "\($0.key)=\($0.value)" } + argv
        }
        return try Self.spawn(argv, environment: environment ?? [:], directory: root.path)
    }

    /// Runs `argv` with posix_spawn and waits with waitpid, its output in a
    /// file (not a pipe: `pg_ctl start` leaves a server running, and
    /// Foundation's Process did not reap `runuser` here), merged into stdout.
    static func spawn(_ command: [String], environment: [String: String], directory: String) throws -> TestSupport.ProcessResult {
        let argv = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory] + command
        let output = "/tmp/modelsec-pg-out-\(UUID().uuidString)"
        defer { unlink(output) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else is inherited: `pg_ctl start` leaves a server running,
        // and a server holding a descriptor of a concurrent Foundation
        // Process (its exit-watch socket, its output pipes) would keep that
        // process from ever being seen to exit (the hang ConcurrentChargeTests
        // hit when PostgreSQL restarted under 32 running processes).
        guard Self.addCloseFrom(&actions, 3) == 0 else {
            throw StartFailure(description: "posix_spawn_file_actions_addclosefrom_np failed")
        }
        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
        var cArgs = argv.map { strdup($0) } + [nil]
        var cEnv = env.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) }; cEnv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, nil, &cArgs, &cEnv)
        guard rc == 0 else { throw StartFailure(description: "cannot run \(command[0]): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { throw StartFailure(description: "waitpid failed for \(command[0])") }
        }
        let exit: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let data = FileManager.default.contents(atPath: output) ?? Data()
        return TestSupport.ProcessResult(status: exit, stdout: data, stderr: Data())
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), looked up
    /// at run time: Swift's Glibc module is built without _GNU_SOURCE, which
    /// hides its declaration.
    private static let addCloseFrom: @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32 = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
            fatalError("glibc 2.34 or later is needed (posix_spawn_file_actions_addclosefrom_np)")
        }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    /// Runs SQL as the superuser in `database`; throws with psql's output on failure.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") throws -> String {
        let r = try Self.spawn(["\(bin)/psql", "-h", "127.0.0.1", "-p", String(port), "-U", user, "-d", database,
                                "-v", "ON_ERROR_STOP=1", "-At", "-c", sql],
                               environment: ["PGPASSWORD": password, "PGCONNECT_TIMEOUT": "10"], directory: "/tmp")
        guard r.status == 0 else { throw StartFailure(description: "psql failed: \(r.stdoutText)") }
        return r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A new empty database (name `prefix_` + random), owned by the superuser.
    public func makeDatabase(_ prefix: String = "t") throws -> String {
        let name = "\(prefix)_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16))"
        try psql("CREATE DATABASE \(name)")
        return name
    }

    /// The store URL of `database` (no password: pass ``password`` through PGPASSWORD or a file).
    public func url(_ database: String, user: String? = nil) -> String {
        "postgres://\(user ?? self.user)@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }

    /// The environment giving the password to modelsec.
    public var environment: [String: String] { ["PGPASSWORD": password] }

    /// Stops the server (fast shutdown: open connections are closed) and starts it again.
    public func restart() throws {
        let r = try tool("pg_ctl", ["-D", root.appendingPathComponent("data").path, "-l", root.appendingPathComponent("log").path,
                                    "-w", "-t", "60", "-m", "fast", "restart"])
        guard r.status == 0 else { throw StartFailure(description: "pg_ctl restart failed: \(r.stdoutText)") }
    }

    /// Stops the server.
    public func stopServer() throws {
        let r = try tool("pg_ctl", ["-D", root.appendingPathComponent("data").path, "-w", "-m", "fast", "stop"])
        guard r.status == 0 else { throw StartFailure(description: "pg_ctl stop failed: \(r.stdoutText)") }
    }

    /// The server's command-line settings.
    var serverOptions: String {
        "-p \(port) -k \(root.path) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=120"
    }

    /// Starts a stopped server.
    public func startServer() throws {
        let r = try tool("pg_ctl", ["-D", root.appendingPathComponent("data").path, "-l", root.appendingPathComponent("log").path,
                                    "-w", "-t", "60", "-o", serverOptions, "start"])
        guard r.status == 0 else { throw StartFailure(description: "pg_ctl start failed: \(r.stdoutText)") }
    }

    /// Stops the server immediately and removes its directory.
    public func stop() {
        _ = try? tool("pg_ctl", ["-D", root.appendingPathComponent("data").path, "-m", "immediate", "stop"])
        try? FileManager.default.removeItem(at: root)
    }
}
