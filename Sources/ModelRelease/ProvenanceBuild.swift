import Foundation

/// Who built the model and how: the builder and build definition of the
/// release's SLSA provenance (docs/evidence.md, "Provenance"). From a file
/// given with `--provenance FILE` (YAML or JSON, checked like the model
/// card), or else from the CI environment variables of GitLab CI, GitHub
/// Actions or Jenkins, or else ``local``.
public struct ProvenanceBuild: Sendable, Equatable {
    /// `runDetails.builder.id`: a URI naming the build platform.
    public let builderID: String
    /// `buildDefinition.buildType`: a URI naming the kind of build.
    public let buildType: String
    /// `buildDefinition.externalParameters` (an object): the training job's parameters.
    public let externalParameters: [String: MetadataValue]
    /// `buildDefinition.internalParameters` (an object; empty: omitted).
    public let internalParameters: [String: MetadataValue]
    /// `buildDefinition.resolvedDependencies`: in-toto resource descriptors.
    public let resolvedDependencies: [MetadataValue]
    /// `runDetails.metadata.invocationId`.
    public let invocationID: String?
    /// `runDetails.metadata.startedOn` (RFC 3339, UTC).
    public let startedOn: String?
    /// `runDetails.metadata.finishedOn` (RFC 3339, UTC).
    public let finishedOn: String?
    /// Where it came from: `file`, `gitlab-ci`, `github-actions`, `jenkins` or `local`.
    public let source: String

    /// The build type of a release made outside CI with no `--provenance` file.
    public static let localBuildType = "https://modelsec.dev/buildtypes/release-create/v1"
    /// The builder id of a release made outside CI with no `--provenance` file.
    public static let localBuilderID = "urn:modelsec:builder:local"

    /// A release made on this machine by `release create`, with nothing known about the training.
    public static let local = ProvenanceBuild(builderID: localBuilderID, buildType: localBuildType, externalParameters: [:],
                                              internalParameters: [:], resolvedDependencies: [], invocationID: nil,
                                              startedOn: nil, finishedOn: nil, source: "local")

    static let dependencySchema: ModelCardSchema.Kind = .object([
        .init("uri", .string, required: true),
        .init("name", .string),
        .init("digest", .stringMap, required: true),
        .init("download_location", .string),
        .init("media_type", .string),
    ])

    static let schema: ModelCardSchema.Kind = .object([
        .init("builder_id", .string, required: true),
        .init("build_type", .string),
        .init("invocation_id", .string),
        .init("started_on", .string),
        .init("finished_on", .string),
        .init("external_parameters", .anyMapping),
        .init("internal_parameters", .anyMapping),
        .init("resolved_dependencies", .list(dependencySchema)),
    ])

    /// Reads and checks a `--provenance` file (YAML or JSON).
    public static func load(path: String) throws -> ProvenanceBuild {
        let (fields, lines) = try ModelCard.parseMapping(try ModelCard.readText(path: path), source: path)
        let context = ModelCardSchema.Context(source: path, document: "the provenance file", kind: .provenanceInvalid)
        try ModelCardSchema.check(.object(fields), kind: schema, place: "", lines: lines, context: context)
        func refuse(_ key: String, _ reason: String) -> ReleaseInputError {
            ReleaseInputError(path: path, reason: "\(lines[key].map { "line \($0): " } ?? "")\(key) \(reason)", kind: context.kind)
        }
        let builder = fields["builder_id"]!.stringValue!
        guard isURI(builder) else { throw refuse("builder_id", "must be a URI (scheme:rest)") }
        for key in ["started_on", "finished_on"] {
            if let value = fields[key]?.stringValue, !isTimestamp(value) {
                throw refuse(key, "must be an RFC 3339 UTC time like 2026-01-31T12:00:00Z")
            }
        }
        let dependencies: [MetadataValue] = {
            guard case let .array(items)? = fields["resolved_dependencies"] else { return [] }
            return items.compactMap(\.objectValue).map { item in
                EvidenceJSON.object([
                    ("uri", item["uri"]), ("name", item["name"]), ("digest", item["digest"]),
                    ("downloadLocation", item["download_location"]), ("mediaType", item["media_type"]),
                ])
            }
        }()
        return ProvenanceBuild(builderID: builder, buildType: fields["build_type"]?.stringValue ?? localBuildType,
                               externalParameters: fields["external_parameters"]?.objectValue ?? [:],
                               internalParameters: fields["internal_parameters"]?.objectValue ?? [:],
                               resolvedDependencies: dependencies, invocationID: fields["invocation_id"]?.stringValue,
                               startedOn: fields["started_on"]?.stringValue, finishedOn: fields["finished_on"]?.stringValue,
                               source: "file")
    }

    /// The build described by a CI system's environment variables (only the
    /// documented, non-secret ones are read), or nil outside GitLab CI,
    /// GitHub Actions and Jenkins.
    public static func fromEnvironment(_ env: [String: String]) -> ProvenanceBuild? {
        func value(_ name: String) -> String? { env[name].flatMap { $0.isEmpty ? nil : $0 } }
        func strings(_ pairs: [(String, String?)]) -> [String: MetadataValue] {
            var out: [String: MetadataValue] = [:]
            for (key, v) in pairs { if let v { out[key] = .string(v) } }
            return out
        }
        func gitDependency(_ uri: String?, _ ref: String?, _ commit: String?) -> [MetadataValue] {
            guard let uri, let commit else { return [] }
            return [.object(["uri": .string("git+\(uri)\(ref.map { "@\($0)" } ?? "")"), "digest": .object(["gitCommit": .string(commit)])])]
        }
        if value("GITHUB_ACTIONS") == "true", let server = value("GITHUB_SERVER_URL"), let repository = value("GITHUB_REPOSITORY") {
            let workflowRef = value("GITHUB_WORKFLOW_REF")
            let runID = value("GITHUB_RUN_ID")
            return ProvenanceBuild(
                builderID: workflowRef.map { "\(server)/\($0)" } ?? "\(server)/\(repository)/actions",
                buildType: "https://modelsec.dev/buildtypes/github-actions/v1",
                externalParameters: strings([("repository", "\(server)/\(repository)"), ("ref", value("GITHUB_REF")),
                                             ("workflow", value("GITHUB_WORKFLOW")), ("workflowRef", workflowRef),
                                             ("event", value("GITHUB_EVENT_NAME"))]),
                internalParameters: strings([("runnerEnvironment", value("RUNNER_ENVIRONMENT")), ("runnerOS", value("RUNNER_OS")),
                                             ("repositoryId", value("GITHUB_REPOSITORY_ID"))]),
                resolvedDependencies: gitDependency("\(server)/\(repository)", value("GITHUB_REF"), value("GITHUB_SHA")),
                invocationID: runID.map { "\(server)/\(repository)/actions/runs/\($0)/attempts/\(value("GITHUB_RUN_ATTEMPT") ?? "1")" },
                startedOn: nil, finishedOn: nil, source: "github-actions")
        }
        if value("GITLAB_CI") == "true", let server = value("CI_SERVER_URL"), let project = value("CI_PROJECT_PATH") {
            return ProvenanceBuild(
                builderID: value("CI_RUNNER_ID").map { "\(server)/\(project)/-/runners/\($0)" } ?? "\(server)/\(project)/-/runners",
                buildType: "https://modelsec.dev/buildtypes/gitlab-ci/v1",
                externalParameters: strings([("project", value("CI_PROJECT_URL") ?? "\(server)/\(project)"), ("ref", value("CI_COMMIT_REF_NAME")),
                                             ("configPath", value("CI_CONFIG_PATH")), ("job", value("CI_JOB_NAME")),
                                             ("pipelineSource", value("CI_PIPELINE_SOURCE"))]),
                internalParameters: strings([("runnerDescription", value("CI_RUNNER_DESCRIPTION")), ("pipelineId", value("CI_PIPELINE_ID"))]),
                resolvedDependencies: gitDependency(value("CI_PROJECT_URL") ?? "\(server)/\(project)", value("CI_COMMIT_REF_NAME"), value("CI_COMMIT_SHA")),
                invocationID: value("CI_JOB_URL"), startedOn: value("CI_JOB_STARTED_AT").flatMap { isTimestamp($0) ? $0 : nil },
                finishedOn: nil, source: "gitlab-ci")
        }
        if let jenkins = value("JENKINS_URL") {
            return ProvenanceBuild(
                builderID: jenkins,
                buildType: "https://modelsec.dev/buildtypes/jenkins/v1",
                externalParameters: strings([("job", value("JOB_NAME")), ("source", value("GIT_URL")), ("branch", value("GIT_BRANCH"))]),
                internalParameters: strings([("node", value("NODE_NAME")), ("buildNumber", value("BUILD_NUMBER"))]),
                resolvedDependencies: gitDependency(value("GIT_URL"), value("GIT_BRANCH"), value("GIT_COMMIT")),
                invocationID: value("BUILD_URL") ?? value("BUILD_TAG"), startedOn: nil, finishedOn: nil, source: "jenkins")
        }
        return nil
    }

    /// `scheme:rest` with an RFC 3986 scheme and no spaces or control characters.
    static func isURI(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), colon > 0, colon < bytes.count - 1,
              (0x41...0x5A).contains(bytes[0]) || (0x61...0x7A).contains(bytes[0]) else { return false }
        let schemeOK = bytes[..<colon].allSatisfy { (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2B || $0 == 0x2D || $0 == 0x2E }
        return schemeOK && bytes.allSatisfy { $0 > 0x20 && $0 != 0x7F }
    }

    /// `YYYY-MM-DDThh:mm:ssZ` (optionally with fractional seconds), a real time.
    static func isTimestamp(_ text: String) -> Bool {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if text.hasSuffix("Z"), formatter.date(from: text) != nil { return true }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return text.hasSuffix("Z") && formatter.date(from: text) != nil
    }
}
