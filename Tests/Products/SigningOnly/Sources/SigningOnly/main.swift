// Signs the model directory given as the first argument with a fresh Ed25519
// key, verifies it, and prints "verified <file count>". Exit 1 otherwise.
import Foundation
import ModelSecCrypto
import ModelSecKeys
import ModelSigning

let arguments = CommandLine.arguments
guard arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: SigningOnly MODEL_DIR\n".utf8))
    exit(2)
}
let model = URL(fileURLWithPath: arguments[1])
let key = PrivateKey.generate(.ed25519)
guard let signingKey = key.signingKey else { exit(2) }
do {
    let bundle = try ModelSigner.sign(model: model, key: signingKey, options: SigningOptions())
    let reread = try SignatureBundle(jsonData: bundle.jsonData())
    let result = try ModelVerifier.verify(model: model, bundle: reread, trustedKeys: TrustedKeys([key.publicKey]),
                                          options: VerificationOptions())
    guard result.outcome == .verified else {
        print("not verified: \(result.summary)")
        exit(1)
    }
    print("verified \(result.verifiedFileCount)")
} catch {
    print("error: \(error)")
    exit(1)
}
