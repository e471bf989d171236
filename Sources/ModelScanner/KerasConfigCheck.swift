import ModelSecIO

/// The rule applied to a Keras model configuration (`config.json` in a
/// `.keras` zip, the `model_config` attribute of a legacy HDF5 file).
///
/// Keras rebuilds the model from this JSON: `module` names a Python module it
/// imports, `class_name` the class it instantiates, and `Lambda` layers carry
/// marshalled Python bytecode (CVE-2024-3660; Keras's `safe_mode` refuses
/// them for this reason). Every JSON object in the document is visited:
///
/// - `class_name` `Lambda`, `__lambda__`, `TFOpLambda` or `SlicingOpLambda`,
///   or `function_type` `lambda`: **dangerous** (code in the model);
/// - a `module` that is a string other than `keras` or `keras.*`: **dangerous**
///   (Keras imports that module and instantiates a class from it).
///
/// The document is parsed with `StrictJSON` (duplicate keys refused), so a
/// key cannot hide behind another spelling or a second occurrence.
enum KerasConfigCheck {
    static let lambdaClasses: Set<String> = ["Lambda", "__lambda__", "TFOpLambda", "SlicingOpLambda"]
    /// Most findings listed per document.
    static let maxListed = 100

    /// The findings for one configuration document (`what` names it in messages).
    static func check(_ bytes: [UInt8], what: String) -> [FormatFinding] {
        let root: StrictJSON.Value
        do {
            root = try StrictJSON.parse(bytes)
        } catch {
            return [FormatFinding(.error, .malformedModel, "\(what) is not valid JSON: \(error)")]
        }
        var findings: [FormatFinding] = []
        var seen = Set<String>()
        var pending: [StrictJSON.Value] = [root]
        while let value = pending.popLast() {
            switch value {
            case .array(let items): pending.append(contentsOf: items)
            case .object(let members):
                pending.append(contentsOf: members.map(\.1))
                let className = value["class_name"]?.string
                var problem: String?
                if let className, lambdaClasses.contains(where: { $0.bytesEqual(className) }) {
                    problem = "\(what) has a \(className) layer, which holds Python code that runs when the model is loaded or called"
                } else if let type = value["function_type"]?.string, type.bytesEqual("lambda") {
                    problem = "\(what) has a lambda function, which holds Python code that runs when the model is loaded or called"
                } else if let module = value["module"]?.string, !(module.bytesEqual("keras") || module.utf8.starts(with: "keras.".utf8)) {
                    problem = "\(what) names module \(module.debugDescription) (class \((className ?? "?").debugDescription)), outside Keras: Keras imports it and runs its code"
                }
                if let problem, seen.insert(problem).inserted, findings.count < maxListed {
                    findings.append(FormatFinding(.dangerous, .unsafeLayer, problem))
                }
            default: continue
            }
        }
        return findings
    }
}
