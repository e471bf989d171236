import ModelSecIO

// The scanner's internal failures, under the library's error contract
// (Sources/ModelSecIO/Errors.swift). None of them leaves the module as a thrown
// error: each becomes a finding in the file's report (fail closed), and
// `ModelScanner.scan` never throws. They still carry a category and a stable
// code, so that a finding's cause can be traced to one failure type.

extension ZipArchive.Failure: ModelSecError {
    var category: FailureCategory { .invalidInput }
    var code: String { "scan.malformed-zip" }
}

extension TarArchive.Failure: ModelSecError {
    var category: FailureCategory { .invalidInput }
    var code: String { "scan.malformed-tar" }
}

extension NumpyArrayHeader.Failure: ModelSecError {
    var category: FailureCategory { .invalidInput }
    var code: String { "scan.malformed-npy" }
}

extension Inflate.Failure: ModelSecError {
    var category: FailureCategory { .invalidInput }
    var code: String { "scan.malformed-deflate" }
}

extension PickleScanner.Malformed: ModelSecError, CustomStringConvertible {
    var category: FailureCategory { .invalidInput }
    var code: String { kind == .resourceLimit ? "scan.pickle-resource-limit" : "scan.malformed-pickle" }
    var description: String { "pickle stream at offset \(offset): \(message)" }
}

extension JoblibWrapper.Unfollowable: ModelSecError, CustomStringConvertible {
    var category: FailureCategory { .invalidInput }
    var code: String { "scan.joblib-layout" }
    var description: String { reason }
}

extension ProtobufReader.Malformed: ModelSecError {
    var category: FailureCategory { .invalidInput }
    var code: String { "scan.malformed-protobuf" }
}

extension GgufChecker.Malformed: ModelSecError, CustomStringConvertible {
    var category: FailureCategory { .invalidInput }
    var code: String { "scan.malformed-gguf" }
    var description: String { "GGUF file at offset \(offset): \(reason)" }
}

extension Hdf5Checker.Failure: ModelSecError, CustomStringConvertible {
    var category: FailureCategory { .invalidInput }
    var code: String { "scan.malformed-hdf5" }
    var description: String { reason }
}

// StrictJSON lives in ModelSecIO (release.json and signatures are checked
// with it too); a model file's malformed JSON keeps the scanner's code.
extension StrictJSON.Invalid: ModelSecError {
    public var category: FailureCategory { .invalidInput }
    public var code: String { "scan.malformed-json" }
}

extension JinjaTemplateCheck.Unparseable: ModelSecError, CustomStringConvertible {
    var category: FailureCategory { .invalidInput }
    var code: String { "scan.malformed-template" }
    var description: String { reason }
}

extension PythonLiteralParser.Failure: ModelSecError, CustomStringConvertible {
    var category: FailureCategory { .invalidInput }
    var code: String { "scan.malformed-npy-header" }
    var description: String { "invalid Python literal in a .npy header" }
}
