/// Names the format of a file the scanner does not read, from its magic
/// bytes, so that an `unknown-format` finding says what the file is and what a
/// waiver for it would accept.
enum FormatMagic {
    /// A format recognised by its first bytes but not analysed.
    struct Known {
        /// The format's name.
        let name: String
        /// What a loader does with it, i.e. what waiving the finding accepts.
        let risk: String
    }

    /// The format `prefix` announces, or nil when it announces none the scanner knows.
    static func identify(_ prefix: [UInt8]) -> Known? {
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            prefix.count >= offset + magic.count && Array(prefix[offset..<(offset + magic.count)]) == magic
        }
        let compressedJoblib = "joblib.load decompresses it and unpickles the result, which the scanner has not read"
        if starts([0x1F, 0x8B]) { return Known(name: "gzip", risk: compressedJoblib) }
        if starts([0x42, 0x5A, 0x68]) { return Known(name: "bzip2", risk: compressedJoblib) }
        if starts([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) { return Known(name: "xz", risk: compressedJoblib) }
        if starts([0x5D, 0x00, 0x00]) { return Known(name: "lzma", risk: compressedJoblib) }
        if starts([0x04, 0x22, 0x4D, 0x18]) { return Known(name: "lz4", risk: compressedJoblib) }
        if starts([0x28, 0xB5, 0x2F, 0xFD]) { return Known(name: "zstd", risk: "a zstd-compressed file whose content the scanner has not read") }
        if starts(Array("ZF0x".utf8)) { return Known(name: "joblib ZF (zlib)", risk: compressedJoblib) }
        if prefix.count >= 2, prefix[0] == 0x78, [0x01, 0x5E, 0x9C, 0xDA].contains(prefix[1]) {
            return Known(name: "zlib", risk: compressedJoblib)
        }
        if starts(Array("TFL3".utf8), at: 4) { return Known(name: "TensorFlow Lite flatbuffer", risk: "a TFLite model; its custom operators and delegates are not checked") }
        if starts(Array("GGML".utf8)) || starts(Array("lmgg".utf8)) || starts(Array("ggjt".utf8)) || starts(Array("tjgg".utf8)) {
            return Known(name: "legacy GGML/GGJT", risk: "a pre-GGUF llama.cpp model; its vocabulary and hyper-parameters are not checked")
        }
        if starts([0x7F, 0x45, 0x4C, 0x46]) { return Known(name: "ELF executable or shared library", risk: "native code that runs when loaded") }
        if starts([0x4D, 0x5A]) { return Known(name: "Windows PE executable", risk: "native code that runs when loaded") }
        if starts([0xCF, 0xFA, 0xED, 0xFE]) || starts([0xCE, 0xFA, 0xED, 0xFE]) || starts([0xCA, 0xFE, 0xBA, 0xBE]) {
            return Known(name: "Mach-O executable or Java class", risk: "native or JVM code that runs when loaded")
        }
        if starts(Array("#!".utf8)) { return Known(name: "script", risk: "a program that runs when executed") }
        return nil
    }

    /// The `unknown-format` message for a file with these first bytes.
    static func unknownFormatMessage(_ prefix: [UInt8]) -> String {
        guard let known = identify(prefix) else {
            return "content is not a format the scanner reads (pickle, PyTorch zip or tar, .npy, .npz, .safetensors, GGUF, ONNX, Keras, HDF5, SavedModel); it cannot tell what it is, and waiving this finding accepts an unread file"
        }
        return "content is \(known.name), which the scanner does not read; waiving this finding accepts \(known.risk)"
    }
}
