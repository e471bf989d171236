/// BUILD: instance state, forged numpy dtypes, and what joblib's
/// `NumpyUnpickler.load_build` does after BUILD of an array wrapper.
extension PickleMachine {
    mutating func build(_ state: Value) throws {
        let top = stack[stack.count - 1]
        let followsJoblib = joblib && importsArrayWrapper
        if followsJoblib && values.exhausted {
            throw Malformed(opcodeStart, "too many values to track in a stream that uses joblib's array wrappers", kind: .resourceLimit)
        }
        guard case .object(let index) = top else {
            if followsJoblib {
                throw Malformed(opcodeStart, "BUILD on a value the scanner cannot track in a stream that uses joblib's array wrappers; the data layout cannot be followed safely")
            }
            return
        }
        let stateComplete = values.applyState(state, to: index)
        let record = values.objects[index]
        if record.isNumpyDtype, let dtype = PickledDtype(top, in: values), dtype.isForged {
            note(ScanFinding(
                severity: .dangerous, kind: .forgedObjectFlag, location: location, offset: opcodeStart, global: "numpy.dtype",
                message: "numpy dtype state whose object flag contradicts its type; numpy would treat raw bytes as object pointers (or objects as raw bytes)"))
        }
        guard followsJoblib else { return }
        if record.opaque {
            throw Malformed(opcodeStart, "BUILD on the result of \(record.constructor), which may be a joblib array wrapper; the data layout cannot be followed safely")
        }
        let isNumpyWrapper = record.isNumpyArrayWrapper, isFileWrapper = record.isFileWrapper
        guard isNumpyWrapper || isFileWrapper else { return }
        guard stateComplete else {
            throw Malformed(opcodeStart, "joblib array wrapper state the scanner cannot evaluate (not a dict of string keys)")
        }
        if insideUnfinishedFrame {
            throw Malformed(opcodeStart, "joblib array wrapper BUILD inside a frame that has \(frameEnd! - position) more bytes; joblib would read the array from after the frame")
        }
        if isFileWrapper {
            followFileWrapper(values.objects[index])
        } else {
            try followInlineArray(values.objects[index])
        }
        // joblib replaces the wrapper with the array it read.
        stack[stack.count - 1] = .other
    }

    /// `NDArrayWrapper.read`: joblib loads `os.path.join(dirname, filename)` with `np.load(allow_pickle=True)`.
    private mutating func followFileWrapper(_ wrapper: PickleValues.ObjectRecord) {
        switch wrapper.attributes["filename"] {
        case nil:
            return   // joblib fails on the missing attribute before reading anything
        case .string(let name)?:
            noteReference(values.text(name), offset: opcodeStart)
        default:
            note(ScanFinding(
                severity: .dangerous, kind: .externalReference, location: location, offset: opcodeStart,
                global: wrapper.constructor,
                message: "joblib NDArrayWrapper makes joblib load a file whose name the scanner cannot resolve"))
        }
    }

    /// `NumpyArrayWrapper.read_array`: the array data sits in the stream right after BUILD.
    private mutating func followInlineArray(_ wrapper: PickleValues.ObjectRecord) throws {
        let layout: JoblibWrapper.Layout
        do {
            layout = try JoblibWrapper.layout(of: wrapper, in: values)
        } catch let failure as JoblibWrapper.Unfollowable {
            throw Malformed(opcodeStart, failure.reason)
        }
        result.followedJoblibLayout = true
        switch layout {
        case .nestedPickle, .unprovenDtype:
            if case .unprovenDtype = layout {
                note(ScanFinding(
                    severity: .error, kind: .malformedPickle, location: location, offset: opcodeStart,
                    message: "joblib NumpyArrayWrapper whose dtype the scanner cannot prove object-free; joblib may unpickle the array data, so it was read as a pickle stream"))
            }
            // joblib reads a nested stream with a fresh pure-Python unpickler (own stack and memo, plain BUILD).
            let nested = PickleScanner.scan(bytes, from: position, location: location, limits: limits,
                                            joblib: false, framedReader: true)
            absorb(nested)
            guard let end = nested.end else {
                throw Malformed(position, "nested object-array pickle is incomplete", truncated: nested.ranOutOfInput)
            }
            position = end
        case .raw(let aligned, let byteCount):
            if aligned {
                let padding = Int(try uint(1))
                _ = try need(padding)
            }
            guard byteCount <= UInt64(bytes.count - position) else {
                throw Malformed(opcodeStart, "joblib array data (\(byteCount) bytes) runs past the end of the stream", truncated: true)
            }
            position += Int(byteCount)
        }
    }
}
