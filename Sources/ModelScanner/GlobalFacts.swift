import ModelSecIO
import Synchronization

/// What the scanner works out about one imported global from its module and
/// name alone: its classification, and the models' view of it
/// (``PickleValues/GlobalInfo``). Worked out once per process and kept: a
/// directory of similar pickles imports the same few globals thousands of
/// times, and classifying one costs about 25,000 instructions (denylist
/// prefixes, allowlist lookups; measured with callgrind).
struct GlobalFacts: Sendable {
    /// Denylist, allowlist or neither.
    let classification: GlobalClassification
    /// What the pickle models need to know about it.
    let info: PickleValues.GlobalInfo
    /// One of joblib's array wrappers.
    let isJoblibWrapper: Bool

    /// Most globals kept; past it, facts are worked out each time (a hostile
    /// stream can name millions of distinct globals).
    static let cacheLimit = 4_096

    /// The facts about `module.name` (exact bytes).
    static func of(module: String, name: String) -> GlobalFacts {
        let key = Key(module: module, name: name)
        if let known = cache.withLock({ $0[key] }) { return known }
        let info = PickleValues.GlobalInfo(module: module, name: name)
        let facts = GlobalFacts(classification: GlobalClassifier.classify(module: module, name: name), info: info,
                                isJoblibWrapper: JoblibWrapper.isWrapper(info.canonical))
        cache.withLock { table in
            if table.count < cacheLimit { table[key] = facts }
        }
        return facts
    }

    private static let cache = Mutex<[Key: GlobalFacts]>([:])

    /// A module and name, compared and hashed as exact UTF-8 bytes (a
    /// `String` key would merge canonically equivalent spellings, which
    /// Python's import does not).
    private struct Key: Hashable, Sendable {
        let module: ExactString
        let name: ExactString

        init(module: String, name: String) {
            self.module = ExactString(module)
            self.name = ExactString(name)
        }
    }
}
