// bench-tokens: access-token verification throughput of the modelsec library.
//
//   bench-tokens prepare DIR [COUNT]   keys (ed.pem, ec.pem + .pub), jwks.json, and
//                                      COUNT tokens per algorithm (tokens-EdDSA.txt,
//                                      tokens-ES256.txt), all valid for 24h
//   bench-tokens verify DIR [SECONDS]  verifies those tokens in a loop on this
//                                      thread; prints `ALG TOKENS_PER_SECOND` lines,
//                                      and `ALG-signature-only CHECKS_PER_SECOND`
//                                      for the signature primitive alone
//   bench-tokens ratio DIR [SECONDS]   the same two, interleaved 50 tokens at a time
//                                      in thread CPU time (robust to a busy machine):
//                                      per-token times and signature-only / full
//                                      (1.0 = no overhead beyond the signature)
//
// Benchmarks/bench-tokens.sh runs both and PyJWT on the same files.
import Foundation
import ModelSec

let issuer = "https://registry.example"
let audience = "deploy-gateway"
let args = CommandLine.arguments

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("bench-tokens: \(message)\n".utf8))
    exit(2)
}

guard args.count >= 3 else { fail("usage: bench-tokens prepare|verify DIR [N]") }
let dir = args[2]
func path(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }

do {
    switch args[1] {
    case "prepare":
        let count = args.count > 3 ? Int(args[3]) ?? 1000 : 1000
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var verificationKeys: [VerificationKey] = []
        for (algorithm, name) in [(KeyAlgorithm.ed25519, "ed"), (.p256, "ec")] {
            let key = PrivateKey.generate(algorithm)
            try KeyFile.write(key, to: path("\(name).pem"), overwrite: true)
            try KeyFile.write(key.publicKey, to: path("\(name).pem.pub"), overwrite: true)
            verificationKeys.append(try VerificationKey(key.publicKey))
            let tokenIssuer = try AccessTokenIssuer(signingKey: key.signingKey!, issuer: issuer)
            var lines = ""
            for index in 0..<count {
                let request = AccessTokenIssuer.Request(
                    subject: "pipeline-\(index)", audiences: [audience],
                    scopes: [try ModelScope(parsing: "model:deploy:resnet@2.1.\(index)"), try ModelScope(parsing: "model:pull:resnet@*")],
                    lifetime: TokenDuration(seconds: 86400))
                lines += try tokenIssuer.issue(request).token + "\n"
            }
            let alg = algorithm == .ed25519 ? "EdDSA" : "ES256"
            try AtomicFileWriter.write(Array(lines.utf8), to: path("tokens-\(alg).txt"))
        }
        try AtomicFileWriter.write(Array(try JSONWebKeySet.document(for: verificationKeys).utf8), to: path("jwks.json"))
    case "verify":
        let seconds = args.count > 3 ? Double(args[3]) ?? 3 : 3
        let keys = try JSONWebKeySet.keys(from: try FileIO.readFile(path("jwks.json")), source: path("jwks.json"))
        // The same policy a deploy gateway would use, incl. a required scope.
        let verifier = try AccessTokenVerifier(keys: keys, issuer: issuer, audience: audience,
                                               requiredScopes: [try ModelScope(parsing: "model:pull:resnet@2.1.0")])
        for alg in ["EdDSA", "ES256"] {
            let tokens = try FileIO.readText(path("tokens-\(alg).txt")).split(separator: "\n").map(String.init)
            guard !tokens.isEmpty else { fail("no tokens for \(alg)") }
            // Warm up, and make sure every token is accepted (a benchmark of rejections would be meaningless).
            for token in tokens { _ = try verifier.verify(token) }
            var verified = 0
            let start = DispatchTime.now().uptimeNanoseconds
            let budget = UInt64(seconds * 1e9)
            var elapsed: UInt64 = 0
            while elapsed < budget {
                for token in tokens { _ = try verifier.verify(token) }
                verified += tokens.count
                elapsed = DispatchTime.now().uptimeNanoseconds - start
            }
            print("\(alg) \(Int(Double(verified) / (Double(elapsed) / 1e9)))")

            // The signature primitive alone, on the same tokens.
            let parsed = try tokens.map { try CompactJWS(parsing: $0) }
            let key = keys.first { $0.algorithm == alg }!.publicKey
            var checked = 0
            let sigStart = DispatchTime.now().uptimeNanoseconds
            var sigElapsed: UInt64 = 0
            while sigElapsed < budget / 2 {
                for jws in parsed {
                    let ok: Bool
                    switch key {
                    case let .ed25519(k): ok = k.isValidSignature(jws.signature, for: jws.signingInput)
                    case let .ecdsa(k): ok = k.isValidSignature(rawSignature: jws.signature, for: jws.signingInput)
                    case .x25519: ok = false
                    }
                    precondition(ok)
                }
                checked += parsed.count
                sigElapsed = DispatchTime.now().uptimeNanoseconds - sigStart
            }
            // The ceiling for any verifier on this machine: the primitive alone.
            print("\(alg)-signature-only \(Int(Double(checked) / (Double(sigElapsed) / 1e9)))")
        }
    case "ratio":
        // Full verification against the signature check alone, interleaved in
        // short slices on this thread and timed in this thread's CPU time, so
        // load from other processes falls on neither (a shared machine's
        // drift skews back-to-back wall-clock runs).
        func cpuNanoseconds() -> UInt64 {
            var time = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
            return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
        }
        let seconds = args.count > 3 ? Double(args[3]) ?? 3 : 3
        let keys = try JSONWebKeySet.keys(from: try FileIO.readFile(path("jwks.json")), source: path("jwks.json"))
        let verifier = try AccessTokenVerifier(keys: keys, issuer: issuer, audience: audience,
                                               requiredScopes: [try ModelScope(parsing: "model:pull:resnet@2.1.0")])
        for alg in ["EdDSA", "ES256"] {
            let tokens = try FileIO.readText(path("tokens-\(alg).txt")).split(separator: "\n").map(String.init)
            guard !tokens.isEmpty else { fail("no tokens for \(alg)") }
            let parsed = try tokens.map { try CompactJWS(parsing: $0) }
            let key = keys.first { $0.algorithm == alg }!.publicKey
            func signatureOnly(_ jws: CompactJWS) -> Bool {
                switch key {
                case let .ed25519(k): return k.isValidSignature(jws.signature, for: jws.signingInput)
                case let .ecdsa(k): return k.isValidSignature(rawSignature: jws.signature, for: jws.signingInput)
                case .x25519: return false
                }
            }
            for token in tokens { _ = try verifier.verify(token) }
            var full: UInt64 = 0, signature: UInt64 = 0, rounds = 0
            let budget = UInt64(seconds * 1e9)
            let slice = 50
            while full + signature < budget {
                let start = (rounds * slice) % tokens.count
                let range = start..<min(start + slice, tokens.count)
                let t0 = cpuNanoseconds()
                for index in range { _ = try verifier.verify(tokens[index]) }
                let t1 = cpuNanoseconds()
                for index in range { precondition(signatureOnly(parsed[index])) }
                let t2 = cpuNanoseconds()
                full += t1 - t0
                signature += t2 - t1
                rounds += 1
            }
            let perFull = Double(full) / Double(rounds * slice), perSignature = Double(signature) / Double(rounds * slice)
            print(String(format: "%@ full %.1f us, signature-only %.1f us, ratio %.3f", alg, perFull / 1000, perSignature / 1000,
                         perSignature / perFull))
        }
    default:
        fail("unknown mode \(args[1])")
    }
} catch {
    fail("\(error)")
}
