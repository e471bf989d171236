import Foundation
import TestSupport
import XCTest
import Yams

/// Runs what examples/ runs, end to end, on examples/sample-model: the
/// scripts the GitLab, GitHub Actions and Jenkins examples call, and the
/// Kubernetes init container's exact command line (read from the manifest).
final class ExamplesEndToEndTests: XCTestCase {
    let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples")

    func modelsec(_ args: [String]) throws {
        let result = try TestSupport.modelsec(args)
        XCTAssertEqual(result.status, 0, "modelsec \(args.joined(separator: " ")): \(result.stderrText)")
    }

    func script(_ name: String, _ environment: [String: String]) throws -> TestSupport.ProcessResult {
        var env = environment
        env["MODELSEC"] = TestSupport.modelsecBinary.path
        return try TestSupport.run("bash", [examples.appendingPathComponent(name).path], environment: env,
                                   currentDirectory: examples.deletingLastPathComponent())
    }

    /// Relative path → contents of every regular file under `root`, skipping `.modelsec/`.
    func contents(of root: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let base = root.standardizedFileURL.path
        for case let url as URL in FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])! {
            let path = String(url.standardizedFileURL.path.dropFirst(base.count + 1))
            guard !path.hasPrefix(".modelsec"), (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true else { continue }
            files[path] = try Data(contentsOf: url)
        }
        return files
    }

    func testCIScriptsAndKubernetesInitContainerDeployTheSampleModel() throws {
        let tmp = try TestSupport.makeTemporaryDirectory("modelsec-examples")
        func at(_ path: String) -> String { tmp.appendingPathComponent(path).path }
        try FileManager.default.createDirectory(atPath: at("keys"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: at("trusted"), withIntermediateDirectories: true)
        try modelsec(["keygen", "--type", "ed25519", "--out", at("keys/signing.pem")])
        try modelsec(["keygen", "--type", "x25519", "--out", at("keys/deploy.pem")])
        try modelsec(["keygen", "--type", "ed25519", "--out", at("keys/issuer.pem")])
        try FileManager.default.copyItem(atPath: at("keys/signing.pem.pub"), toPath: at("trusted/release-signing.pub"))
        try modelsec(["token", "jwks", "--public-key", at("keys/issuer.pem.pub"), "--out", at("jwks.json")])

        let common = ["RELEASE_NAME": "sample-classifier", "RELEASE_VERSION": "1.0.0", "RELEASE_DIR": at("release"),
                      "TOKEN_ISSUER": "https://registry.example.com", "TOKEN_AUDIENCE": "deploy-gate"]

        // Release stage (all three CI examples).
        var env = common
        env["MODEL"] = "examples/sample-model"
        env["MODEL_CARD"] = "examples/sample-model-card.yaml"
        env["SIGNING_KEY"] = at("keys/signing.pem")
        env["RECIPIENT"] = at("keys/deploy.pem.pub")
        var result = try script("release.sh", env)
        XCTAssertEqual(result.status, 0, result.stderrText)
        XCTAssertTrue(result.stdoutText.contains("release: sample-classifier@1.0.0"), result.stdoutText)
        XCTAssertTrue(result.stdoutText.contains("license: Apache-2.0"), result.stdoutText)

        // Approval: a deploy token for exactly this version.
        env = common
        env["TOKEN_ISSUER_KEY"] = at("keys/issuer.pem")
        env["TOKEN_FILE"] = at("deploy.token")
        result = try script("deploy-token.sh", env)
        XCTAssertEqual(result.status, 0, result.stderrText)

        // Deploy stage: the gate.
        env = common
        env["TRUSTED_KEYS"] = at("trusted")
        env["DEPLOY_IDENTITY"] = at("keys/deploy.pem")
        env["TOKEN_FILE"] = at("deploy.token")
        env["TOKEN_JWKS"] = at("jwks.json")
        env["MODEL_DIR"] = at("model-out")
        result = try script("deploy-gate.sh", env)
        XCTAssertEqual(result.status, 0, result.stderrText)
        let sample = try contents(of: examples.appendingPathComponent("sample-model"))
        XCTAssertEqual(sample.count, 3)
        XCTAssertEqual(try contents(of: URL(fileURLWithPath: at("model-out"))), sample)

        // Kubernetes: run the init container's command with its mounts mapped to local folders.
        let mounts = ["/releases": at("k8s/releases"), "/etc/modelsec/trust": at("k8s/trust"),
                      "/etc/modelsec/deploy": at("k8s/deploy"), "/models": at("k8s/models")]
        for path in mounts.values { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        try FileManager.default.copyItem(atPath: at("release"), toPath: at("k8s/releases/sample-classifier-1.0.0"))
        try FileManager.default.copyItem(atPath: at("trusted/release-signing.pub"), toPath: at("k8s/trust/release-signing.pub"))
        try FileManager.default.copyItem(atPath: at("jwks.json"), toPath: at("k8s/trust/jwks.json"))
        try FileManager.default.copyItem(atPath: at("keys/deploy.pem"), toPath: at("k8s/deploy/deploy.pem"))
        try FileManager.default.copyItem(atPath: at("deploy.token"), toPath: at("k8s/deploy/token"))
        let gate = try initContainer()
        XCTAssertEqual(gate.command, ["modelsec"])
        XCTAssertEqual(Set(gate.mountPaths), Set(mounts.keys))
        let args = gate.args.map { arg in
            mounts.first { arg == $0.key || arg.hasPrefix($0.key + "/") }.map { $0.value + arg.dropFirst($0.key.count) } ?? arg
        }
        result = try TestSupport.modelsec(args)
        XCTAssertEqual(result.status, 0, "init container: \(result.stderrText)")
        XCTAssertEqual(try contents(of: URL(fileURLWithPath: at("k8s/models/current"))), sample)

        // A pod restart runs both init containers again over the same
        // emptyDir volumes: the first one's script (with `token fetch`
        // answered by a stand-in that hands out the same token) makes the
        // second run of the gate succeed again.
        let fetchScript = try firstInitContainerScript()
        let identityDir = at("k8s/identity"), fakeBin = at("k8s/bin")
        for path in [identityDir, fakeBin, at("k8s/workload")] { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        try FileManager.default.copyItem(atPath: at("keys/deploy.pem"), toPath: identityDir + "/deploy.pem")
        let stand_in = """
        #!/bin/sh
        if [ "$1 $2" = "token fetch" ]; then
          while [ $# -gt 0 ]; do [ "$1" = --output ] && out="$2"; shift; done
          cp "\(at("deploy.token"))" "$out"; exit 0
        fi
        exec "\(TestSupport.modelsecBinary.path)" "$@"
        """
        try stand_in.write(toFile: fakeBin + "/modelsec", atomically: true, encoding: .utf8)
        chmod(fakeBin + "/modelsec", 0o755)
        // (The models path first: the local folders' names contain "/models".)
        let localScript = fetchScript
            .replacingOccurrences(of: " /models/", with: " " + at("k8s/models") + "/")
            .replacingOccurrences(of: "/var/run/secrets/modelsec", with: at("k8s/workload"))
            .replacingOccurrences(of: "/etc/modelsec/identity", with: identityDir)
            .replacingOccurrences(of: "/etc/modelsec/deploy", with: at("k8s/deploy"))
        for round in 1...2 {
            let fetch = try TestSupport.run("/bin/sh", ["-ec", localScript], environment: ["PATH": fakeBin + ":/usr/bin:/bin"])
            XCTAssertEqual(fetch.status, 0, "round \(round), first init container: \(fetch.stderrText)")
            let again = try TestSupport.modelsec(args)
            XCTAssertEqual(again.status, 0, "round \(round), gate after a restart: \(again.stderrText)")
            XCTAssertEqual(try contents(of: URL(fileURLWithPath: at("k8s/models/current"))), sample)
        }

        // A tampered release is refused by the same gate, and nothing is written.
        let artifact = at("release/artifacts/model.safetensors.enc")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: artifact)))
        bytes[bytes.count - 5] ^= 0x80
        try Data(bytes).write(to: URL(fileURLWithPath: artifact))
        env["MODEL_DIR"] = at("model-out-2")
        result = try script("deploy-gate.sh", env)
        XCTAssertEqual(result.status, 1, result.stderrText)
        XCTAssertTrue(result.stderrText.contains("decrypt step failed"), result.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: at("model-out-2")))
    }

    func testCIExamplesCallTheTestedScripts() throws {
        for name in [".gitlab-ci.yml", "github-actions-release.yml", "Jenkinsfile"] {
            let text = try String(contentsOf: examples.appendingPathComponent(name), encoding: .utf8)
            for script in ["examples/release.sh", "examples/deploy-token.sh", "examples/deploy-gate.sh"] {
                XCTAssertTrue(text.contains(script), "\(name) does not call \(script)")
            }
        }
        // The YAML examples parse.
        for name in [".gitlab-ci.yml", "github-actions-release.yml", "kubernetes-deployment.yaml"] {
            let text = try String(contentsOf: examples.appendingPathComponent(name), encoding: .utf8)
            XCTAssertNotNil(try Yams.load(yaml: text) as? [String: Any], name)
        }
    }

    /// The shell script of the Kubernetes example's first init container.
    func firstInitContainerScript() throws -> String {
        let text = try String(contentsOf: examples.appendingPathComponent("kubernetes-deployment.yaml"), encoding: .utf8)
        let root = try XCTUnwrap(try Yams.load(yaml: text) as? [String: Any])
        let spec = try XCTUnwrap(((root["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])
        let containers = try XCTUnwrap(spec["initContainers"] as? [[String: Any]])
        let fetch = try XCTUnwrap(containers.first { $0["name"] as? String == "fetch-deploy-token" })
        XCTAssertEqual(fetch["command"] as? [String], ["/bin/sh", "-ec"])
        return try XCTUnwrap((fetch["args"] as? [String])?.first)
    }

    /// The deploy-gate init container of the Kubernetes example.
    func initContainer() throws -> (command: [String], args: [String], mountPaths: [String]) {
        let text = try String(contentsOf: examples.appendingPathComponent("kubernetes-deployment.yaml"), encoding: .utf8)
        let root = try XCTUnwrap(try Yams.load(yaml: text) as? [String: Any])
        let spec = try XCTUnwrap(((root["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])
        let containers = try XCTUnwrap(spec["initContainers"] as? [[String: Any]])
        let gate = try XCTUnwrap(containers.first { $0["name"] as? String == "deploy-gate" })
        let mounts = (gate["volumeMounts"] as? [[String: Any]] ?? []).compactMap { $0["mountPath"] as? String }
        return (gate["command"] as? [String] ?? [], gate["args"] as? [String] ?? [], mounts)
    }
}
