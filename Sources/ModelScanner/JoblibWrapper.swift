/// joblib's array wrappers and what `joblib.load` does when it `BUILD`s one.
///
/// joblib's `NumpyUnpickler.load_build` runs the normal BUILD, then, if the
/// object on top of the stack is a wrapper, replaces it with the array the
/// wrapper reads:
/// - `NumpyArrayWrapper.read`: the array data follows the BUILD opcode inside
///   the pickle file: a nested pickle stream when `dtype.hasobject`, else an
///   optional padding byte and padding (when `numpy_array_alignment_bytes` is
///   not None) and `prod(shape) * dtype.itemsize` raw bytes. The data is read
///   from the file handle, not from the unpickler's current frame.
/// - `NDArrayWrapper.read` (files written by joblib < 0.10):
///   `np.load(os.path.join(dirname(pickle file), self.filename), allow_pickle=True)`:
///   another file is loaded, and unpickled unless it is a .npy/.npz.
enum JoblibWrapper {
    /// `NumpyArrayWrapper` under the names the allowlist accepts.
    static let numpyArrayWrapper: Set<String> = [
        "joblib.numpy_pickle.NumpyArrayWrapper", "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
    ]
    /// `NDArrayWrapper` under the names the allowlist accepts.
    static let ndArrayWrapper: Set<String> = [
        "joblib.numpy_pickle.NDArrayWrapper", "sklearn.externals.joblib.numpy_pickle.NDArrayWrapper",
    ]

    /// Whether `constructor` (a canonical `module.name`) is one of the wrappers.
    static func isWrapper(_ constructor: String) -> Bool {
        GlobalClassifier.containsExactly(numpyArrayWrapper, constructor) || GlobalClassifier.containsExactly(ndArrayWrapper, constructor)
    }

    /// One `__init__` parameter: its name and default (nil: required).
    struct Parameter {
        let name: String
        let defaultValue: PickleValues.Value?
    }

    /// The wrapper's `__init__` parameters, each stored as the attribute of the same name.
    static func initParameters(_ constructor: String) -> [Parameter]? {
        if GlobalClassifier.containsExactly(numpyArrayWrapper, constructor) {
            return [Parameter(name: "subclass", defaultValue: nil), Parameter(name: "shape", defaultValue: nil),
                    Parameter(name: "order", defaultValue: nil), Parameter(name: "dtype", defaultValue: nil),
                    Parameter(name: "allow_mmap", defaultValue: .other),
                    Parameter(name: "numpy_array_alignment_bytes", defaultValue: .int(16))]
        }
        if GlobalClassifier.containsExactly(ndArrayWrapper, constructor) {
            return [Parameter(name: "filename", defaultValue: nil), Parameter(name: "subclass", defaultValue: nil),
                    Parameter(name: "allow_mmap", defaultValue: .other)]
        }
        return nil
    }

    /// How the bytes after a `NumpyArrayWrapper`'s BUILD are laid out.
    enum Layout {
        /// A nested pickle stream (object dtype).
        case nestedPickle
        /// Optional alignment padding, then `byteCount` raw bytes.
        case raw(aligned: Bool, byteCount: UInt64)
        /// The dtype is not proven object-free or object-holding: joblib may
        /// unpickle the data; the scanner reads it as a pickle and reports why.
        case unprovenDtype
    }

    /// Why the layout cannot be followed (the stream is then malformed: fail closed).
    struct Unfollowable: Error {
        let reason: String
    }

    /// The layout joblib's `read_array` follows for `wrapper`.
    static func layout(of wrapper: PickleValues.ObjectRecord, in values: PickleValues) throws -> Layout {
        let dtypeValue = wrapper.attributes["dtype"] ?? .other
        let verdict = PickledDtype(dtypeValue, in: values)?.effective ?? .unknown
        switch verdict {
        case .holdsObjects: return .nestedPickle
        case .unknown: return .unprovenDtype
        case .objectFree(let itemSize):
            guard let itemSize, itemSize > 0 else {
                throw Unfollowable(reason: "joblib NumpyArrayWrapper whose dtype size the scanner cannot evaluate")
            }
            // joblib reads the padding byte whenever the attribute is not None.
            let aligned: Bool
            switch wrapper.attributes["numpy_array_alignment_bytes"] {
            case nil, .none?: aligned = false
            case .int?, .string?, .tuple?, .dict?, .global?: aligned = true
            case .object(let index)? where !values.objects[index].opaque: aligned = true
            default: throw Unfollowable(reason: "joblib NumpyArrayWrapper whose alignment may or may not be None")
            }
            guard case .tuple(let shapeIndex)? = wrapper.attributes["shape"] else {
                throw Unfollowable(reason: "joblib NumpyArrayWrapper whose shape is not a tuple of integers")
            }
            var count: UInt64? = 1
            for dimension in values.tuples[shapeIndex] {
                guard case .int(let value) = dimension, value >= 0 else {
                    throw Unfollowable(reason: "joblib NumpyArrayWrapper whose shape is not a tuple of non-negative integers")
                }
                count = NumpyDtype.multiply(count, UInt64(value))
            }
            // joblib multiplies the shape as int64 (wrapping silently): only exact, small products are followed.
            guard let total = NumpyDtype.multiply(count, itemSize), let count, count <= UInt64(Int64.max), total <= UInt64(Int64.max) else {
                throw Unfollowable(reason: "joblib NumpyArrayWrapper whose data size overflows")
            }
            return .raw(aligned: aligned, byteCount: total)
        }
    }
}
