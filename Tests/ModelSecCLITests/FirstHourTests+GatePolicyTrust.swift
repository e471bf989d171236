import Foundation
import TestSupport
import XCTest

extension FirstHourTests {
    // MARK: 3. The gate's policy step trusts the gate's keys

    /// `release verify --trusted-keys DIR --policy baseline.yaml` passes the
    /// policy's signature rule with the gate's keys, as `audit` does, even
    /// when the variable the policy names points at other keys.
    func testGatePolicyStepUsesTheGatesTrust() throws {
        try makeRelease()
        try FileManager.default.createDirectory(atPath: path("pol"), withIntermediateDirectories: true)
        for name in ["baseline.yaml", "revoked-keys.txt"] {
            try FileManager.default.copyItem(at: TestSupport.repositoryRoot.appendingPathComponent("policies/" + name),
                                             to: URL(fileURLWithPath: path("pol/" + name)))
        }
        try run(["keygen", "--type", "ed25519", "--out", path("other.pem")])
        try FileManager.default.createDirectory(atPath: path("other"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: path("other.pem.pub"), toPath: path("other/other.pem.pub"))
        let environment = ["MODELSEC_TRUSTED_KEYS": path("other")]
        try gate(output: "dep", extra: ["--policy", path("pol/baseline.yaml")], expect: 0, environment: environment)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("dep/weights.safetensors")))
        try run(["release", "verify", path("rel"), "--public-key", path("release.pem.pub"), "--identity", path("deploy.pem"),
                 "--policy", path("pol/baseline.yaml"), "--output", path("dep2")], environment: environment)
        // The audit agrees, with the same flags.
        try run(["audit", path("rel"), "--policy", path("pol/baseline.yaml"), "--trusted-keys", path("trusted")], environment: environment)
        // And trust still matters: the gate trusting only `other` fails at the signature step.
        let refused = try run(["release", "verify", path("rel"), "--trusted-keys", path("other"), "--identity", path("deploy.pem"),
                               "--policy", path("pol/baseline.yaml"), "--output", path("dep3")], expect: 1, environment: environment)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("dep3")), refused.stderrText)
    }
}
