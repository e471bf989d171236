/// Bounds each privacy unit's contribution: admits the first K rows of each
/// privacy id (ids compared as exact UTF-8 bytes) and refuses the rest.
///
/// Adding or removing one person then changes at most K admitted rows, and
/// no other person's admitted rows (each person's first K rows do not depend
/// on anyone else's), so a statistic whose per-row sensitivity is s has
/// sensitivity K s over the admitted rows. Memory grows with the number of
/// distinct ids.
struct ContributionBounder {
    /// K.
    let maxRowsPerID: Int
    private var seen: [[UInt8]: Int] = [:]

    init(maxRowsPerID: Int) { self.maxRowsPerID = maxRowsPerID }

    /// Whether a row of `id` is admitted (and counts it if so).
    mutating func admit(_ id: String) -> Bool {
        let key = Array(id.utf8)
        let n = seen[key, default: 0]
        guard n < maxRowsPerID else { return false }
        seen[key] = n + 1
        return true
    }
}
