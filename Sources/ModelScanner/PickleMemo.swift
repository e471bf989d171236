/// The unpickler's memo (index → value), as `PUT`, `BINPUT`, `LONG_BINPUT`
/// and `MEMOIZE` fill it and `GET`s read it.
///
/// Picklers number memo entries 0, 1, 2, ... in order, so those live in an
/// array; any other index (a hand-made stream may use any) lives in a
/// dictionary. Invariant: every dictionary key is at least the array's count,
/// so each index lives in exactly one place and `count` is Python's
/// `len(memo)`. A dictionary alone cost about a fifth of a small pickle's
/// scan in hashing (measured with callgrind).
struct PickleMemo {
    private var dense: [PickleValues.Value] = []
    private var sparse: [Int: PickleValues.Value] = [:]

    /// How many indices are defined.
    var count: Int { dense.count + sparse.count }

    /// The value at `index`, or nil when it is not defined.
    subscript(index: Int) -> PickleValues.Value? {
        index >= 0 && index < dense.count ? dense[index] : sparse[index]
    }

    /// Whether `index` is defined.
    func contains(_ index: Int) -> Bool {
        (index >= 0 && index < dense.count) || sparse[index] != nil
    }

    /// Makes room for `count` entries numbered from 0.
    mutating func reserveCapacity(_ count: Int) { dense.reserveCapacity(count) }

    /// Defines (or redefines) `index`.
    mutating func set(_ index: Int, _ value: PickleValues.Value) {
        if index >= 0 && index < dense.count {
            dense[index] = value
        } else if index == dense.count {
            if !sparse.isEmpty { sparse[index] = nil }
            dense.append(value)
            // Keys that were out of order may now continue the array.
            while !sparse.isEmpty, let next = sparse.removeValue(forKey: dense.count) { dense.append(next) }
        } else {
            sparse[index] = value
        }
    }
}
