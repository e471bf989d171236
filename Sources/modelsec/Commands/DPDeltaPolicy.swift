/// When `modelsec dp` refuses or warns about a delta.
///
/// An (epsilon, delta) guarantee permits a mechanism that publishes a
/// record outright with probability delta, so delta must be small against
/// 1/n. The checks use only what is public: the delta itself (refused above
/// ``largestUnforcedDelta`` unless forced) and the record count *as
/// released* (exact under replace-one, where it is public; the noisy count
/// otherwise), never the exact n of an add-remove dataset.
enum DPDeltaPolicy {
    /// The largest delta accepted without `--force`.
    static let largestUnforcedDelta = 1e-3

    /// The refusal for a delta above ``largestUnforcedDelta``.
    static func largeDeltaMessage(_ delta: Double) -> String {
        "delta \(delta) is above 1e-3: an (epsilon, delta) guarantee allows a release to expose records outright with probability delta; pass --force to accept it"
    }

    /// The warning when delta >= 1/n for the released record count, or nil.
    static func smallSampleWarning(delta: Double, recordCount: Double?) -> String? {
        guard delta > 0, let n = recordCount, n >= 1, delta >= 1 / n else { return nil }
        return "delta \(delta) is at least 1/n for n = \(n) records (as released): a mechanism may expose a whole record with probability delta; choose delta well below 1/n (--force silences this)"
    }
}
