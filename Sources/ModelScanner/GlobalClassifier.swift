import ModelSecIO

/// Classifies the globals a pickle imports: denylist first, then an exact
/// allowlist; everything else is unknown (not proven safe).
///
/// The allowlist is the default: a global passes only when it is on it. It
/// starts from what PyTorch's `weights_only` unpickler accepts
/// (`torch/_weights_only_unpickler.py`, `_get_allowed_globals`), adds what
/// numpy's own pickles of arrays, dtypes, scalars and random states need,
/// joblib's array wrappers (whose effect on the stream the scanner models),
/// and a few inert standard value types. Every entry was checked for what it
/// can reach with *any* arguments under full pickle semantics (REDUCE, BUILD,
/// NEWOBJ), not only under the restricted unpickler; see docs/scanner.md.
///
/// Matching rules:
/// - Python 2 module names are mapped as the unpickler's `fix_imports` does
///   (`__builtin__` -> `builtins`, `copy_reg` -> `copyreg`, ...).
/// - Protocol 4+ resolves dotted names with a chain of `getattr`s, so
///   `("torch", "_utils.os.system")` reaches `os.system`. A dotted name is
///   never safe, and every component is checked against the denylist.
/// - A module is denied together with all its submodules (`os` covers `os.path`).
/// - Names are compared as exact UTF-8 bytes (never Unicode-equivalent strings).
public enum GlobalClassifier {
    /// Modules whose every attribute is dangerous (with their submodules).
    static let dangerousModules: Set<String> = [
        "os", "posix", "nt", "posixpath", "ntpath", "subprocess", "sys", "socket", "shutil", "ctypes", "pty",
        "webbrowser", "runpy", "importlib", "imp", "code", "codeop", "commands", "platform", "multiprocessing",
        "asyncio", "signal", "pdb", "bdb", "timeit", "pydoc", "profile", "cProfile", "trace", "site",
        "pickle", "_pickle", "cPickle", "dill", "cloudpickle", "marshal", "shelve", "pip", "ensurepip", "venv",
        "http", "urllib", "urllib2", "httplib", "ftplib", "telnetlib", "smtplib", "poplib", "imaplib", "nntplib",
        "requests", "aiohttp", "tempfile", "glob", "fcntl", "resource", "mmap", "select", "selectors",
        "threading", "_thread", "thread", "concurrent", "tkinter", "turtle", "xmlrpc", "socketserver",
        "zipimport", "pkgutil", "distutils", "setuptools", "gc", "inspect", "dis", "ast", "_posixsubprocess",
        "_io", "io", "builtins.__loader__", "sqlite3", "uuid._uuid", "_ctypes", "sysconfig",
        // exec/eval gadgets outside the obvious modules.
        "doctest", "idlelib", "logging.config", "lib2to3", "_winapi", "msvcrt", "winreg",
        // torch machinery that loads, compiles or runs code.
        "torch.hub", "torch.package", "torch.utils.cpp_extension", "torch._dynamo", "torch._inductor",
        "torch.fx", "torch.multiprocessing", "torch.jit._serialization", "torch.jit.frontend",
    ]

    /// Attributes of `builtins` that are dangerous.
    static let dangerousBuiltins: Set<String> = [
        "eval", "exec", "execfile", "compile", "getattr", "setattr", "delattr", "open", "__import__",
        "breakpoint", "input", "raw_input", "globals", "locals", "vars", "help", "exit", "quit", "memoryview",
        "reload", "file", "apply", "__build_class__", "type",
        "dir",
    ]

    /// Exact `module.name` pairs that are dangerous.
    static let dangerousGlobals: Set<String> = [
        "functools.partial", "functools.reduce", "functools.partialmethod", "functools.wraps",
        "operator.attrgetter", "operator.itemgetter", "operator.methodcaller", "operator.getitem",
        "operator.call", "operator.setitem", "operator.delitem", "operator.getattr",
        "types.FunctionType", "types.CodeType", "types.LambdaType", "types.MethodType", "types.ModuleType",
        "types.new_class", "types.SimpleNamespace",
        "numpy.load", "numpy.loadtxt", "numpy.fromfile", "numpy.save", "numpy.testing._private.utils.runstring",
        "numpy.lib.npyio.load", "numpy.f2py", "numpy.distutils.exec_command", "numpy.memmap",
        "torch.load", "torch.save", "torch.serialization.load", "torch.serialization._load",
        "torch.serialization._legacy_load", "torch._C._import_ir_module", "torch.classes.load_library",
        "torch.jit.load", "torch.jit.script", "torch.jit.CompilationUnit", "torch.jit._load_for_lite_interpreter",
        "torch.ops.load_library",
        // torch.load(BytesIO(b), weights_only=False) on bytes embedded in the pickle.
        "torch.storage._load_from_bytes",
        "joblib.load", "joblib.dump", "numpy.core.multiarray.load",
        "codecs.open", "copyreg.add_extension", "copyreg.__newobj_ex__",
        "tensorflow.io.write_file", "tensorflow.io.read_file", "keras.models.load_model",
        "yaml.load", "yaml.unsafe_load", "jinja2.Template", "_operator.attrgetter", "_operator.itemgetter",
        "_operator.methodcaller", "_functools.partial", "_functools.reduce",
    ]

    /// Names that are dangerous whatever module they are reached through.
    static let dangerousNames: Set<String> = [
        "system", "popen", "popen2", "popen3", "popen4", "spawn", "spawnl", "spawnv", "spawnve", "spawnlp",
        "execl", "execle", "execlp", "execv", "execve", "execvp", "execvpe", "fork", "forkpty", "kill",
        "eval", "exec", "execfile", "compile", "__import__", "import_module", "check_output", "check_call",
        "getoutput", "getstatusoutput", "run_path", "run_module", "load_library", "loads", "unsafe_load",
        "__reduce__", "__reduce_ex__", "__getattribute__", "__globals__", "__builtins__", "__subclasses__",
        "__code__", "__class__", "__dict__", "__setstate__", "__init__", "__new__", "__call__",
        "debug_script", "debug_src", "_load_from_bytes",
    ]

    /// The allowlist: exact `module.name` pairs known to be safe to import and
    /// call with any arguments. Reasons per group in docs/scanner.md.
    static let safeGlobals: Set<String> = {
        var names: Set<String> = [
            // PyTorch weights_only defaults: containers, tensor/parameter/size/device, bytes helpers.
            "collections.OrderedDict", "collections.Counter", "torch.nn.parameter.Parameter",
            "torch.serialization._get_layout", "torch.Size", "torch.Tensor", "torch.device", "_codecs.encode",
            "builtins.bytearray", "builtins.set", "builtins.complex",
            // PyTorch tensor rebuild functions (weights_only's list, plus the older
            // `_rebuild_sparse_csr_tensor`, `_rebuild_nested_tensor` and `_rebuild_from_type`,
            // which also only construct tensors).
            "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
            "torch._utils._rebuild_qtensor", "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2",
            "torch._utils._rebuild_tensor_v3", "torch._utils._rebuild_sparse_tensor",
            "torch._utils._rebuild_meta_tensor_no_storage", "torch._utils._rebuild_wrapper_subclass",
            "torch._utils._rebuild_device_tensor_from_numpy", "torch._utils._rebuild_device_tensor_from_cpu_tensor",
            "torch._utils._rebuild_sparse_csr_tensor", "torch._utils._rebuild_nested_tensor",
            "torch._tensor._rebuild_from_type_v2", "torch._tensor._rebuild_from_type",
            // TorchScript's pickle helpers (its .debug_pkl and data.pkl use them):
            // each returns its first argument unchanged.
            "torch.jit._pickle.build_intlist", "torch.jit._pickle.build_tensorlist", "torch.jit._pickle.build_doublelist",
            "torch.jit._pickle.build_boollist", "torch.jit._pickle.build_tensor_from_id", "torch.jit._pickle.restore_type_tag",
            // Storage classes (torch.save names them in persistent ids).
            "torch.storage.UntypedStorage", "torch.storage.TypedStorage", "torch.UntypedStorage", "torch.TypedStorage",
            // Layouts, memory formats and quantization schemes: inert singleton objects.
            "torch.strided", "torch.sparse_coo", "torch.sparse_csr", "torch.sparse_csc", "torch.sparse_bsr",
            "torch.sparse_bsc", "torch._mkldnn", "torch.jagged", "torch.contiguous_format", "torch.channels_last",
            "torch.channels_last_3d", "torch.preserve_format", "torch.per_tensor_affine",
            "torch.per_channel_affine", "torch.per_tensor_symmetric", "torch.per_channel_symmetric",
            "torch.per_channel_affine_float_qparams",
            // Inert Python value types and the protocol 0/1 object machinery
            // (`_reconstructor`/`__newobj__` only instantiate classes that are themselves checked).
            "collections.defaultdict", "collections.deque",
            "builtins.frozenset", "builtins.dict", "builtins.list", "builtins.tuple", "builtins.bytes",
            "builtins.slice", "builtins.range", "builtins.int", "builtins.float", "builtins.str", "builtins.bool",
            "builtins.object", "builtins.Ellipsis", "builtins.NotImplemented",
            "copyreg._reconstructor", "copyreg.__newobj__", "codecs.encode",
            "datetime.datetime", "datetime.date", "datetime.time", "datetime.timedelta", "datetime.timezone",
            "decimal.Decimal", "fractions.Fraction", "uuid.UUID", "argparse.Namespace",
            // numpy: what pickles of arrays, masked arrays, dtypes, scalars and random
            // states import (numpy 1.x `numpy.core` and 2.x `numpy._core` paths).
            "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
            "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
            "numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer",
            "numpy.ndarray", "numpy.dtype", "numpy.ma.core._mareconstruct", "numpy.ma.core.MaskedArray", "numpy.ma.MaskedArray",
            "numpy.random._pickle.__randomstate_ctor", "numpy.random._pickle.__bit_generator_ctor",
            "numpy.random._pickle.__generator_ctor", "numpy.random.mtrand.RandomState",
            "numpy.random._mt19937.MT19937", "numpy.random._pcg64.PCG64", "numpy.random._pcg64.PCG64DXSM",
            "numpy.random._philox.Philox", "numpy.random._sfc64.SFC64", "numpy.random._generator.Generator",
            // Cython's unpickle helper creates `SeedSequence.__new__(cls)`, which requires a SeedSequence subclass.
            "numpy.random.bit_generator.SeedSequence", "numpy.random.bit_generator.__pyx_unpickle_SeedSequence",
            // joblib's array wrappers: the scanner follows the inline data of
            // NumpyArrayWrapper and the files NDArrayWrapper makes joblib load.
            "joblib.numpy_pickle.NumpyArrayWrapper", "joblib.numpy_pickle.NDArrayWrapper",
            "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
            "sklearn.externals.joblib.numpy_pickle.NDArrayWrapper",
        ]
        // torch dtypes (weights_only: `str(dtype)` of every dtype, plus the aliases they pickle from).
        let torchDtypes = ["float32", "float", "float64", "double", "float16", "half", "bfloat16", "complex32",
                           "complex64", "complex128", "cfloat", "cdouble", "chalf", "uint8", "int8", "int16", "short",
                           "int32", "int", "int64", "long", "bool", "quint8", "qint8", "qint32", "quint4x2",
                           "quint2x4", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz",
                           "float8_e8m0fnu", "float4_e2m1fn_x2", "uint16", "uint32", "uint64",
                           "bits1x8", "bits2x4", "bits4x2", "bits8", "bits16"]
        for dtype in torchDtypes { names.insert("torch.\(dtype)") }
        for bits in 1...7 {
            names.insert("torch.uint\(bits)")
            names.insert("torch.int\(bits)")
        }
        // Legacy storage and tensor classes (weights_only: torch._storage_classes, torch._tensor_classes).
        let elementTypes = ["Float", "Double", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool",
                            "ComplexFloat", "ComplexDouble", "QInt8", "QUInt8", "QInt32", "QUInt4x2", "QUInt2x4"]
        for element in elementTypes {
            names.insert("torch.\(element)Storage")
            names.insert("torch.cuda.\(element)Storage")
        }
        for element in ["Float", "Double", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool"] {
            names.insert("torch.\(element)Tensor")
            names.insert("torch.cuda.\(element)Tensor")
        }
        // numpy scalar types (classes, e.g. an estimator's `dtype=np.float64` parameter).
        // `numpy.object_` is left out: calling it returns its argument unchanged.
        let numpyScalars = ["bool_", "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                            "uint64", "float16", "float32", "float64", "longdouble", "complex64", "complex128",
                            "clongdouble", "str_", "bytes_", "void", "datetime64", "timedelta64",
                            "intc", "uintc", "intp", "uintp", "longlong", "ulonglong", "half", "single", "double",
                            "byte", "ubyte", "short", "ushort", "long", "ulong", "csingle", "cdouble"]
        for scalar in numpyScalars { names.insert("numpy.\(scalar)") }
        // numpy 2 DType classes (calling one builds a dtype).
        let dtypeClasses = ["BoolDType", "ByteDType", "BytesDType", "CLongDoubleDType", "Complex128DType",
                            "Complex64DType", "DateTime64DType", "Float16DType", "Float32DType", "Float64DType",
                            "Int16DType", "Int32DType", "Int64DType", "Int8DType", "IntDType", "LongDType",
                            "LongDoubleDType", "LongLongDType", "ObjectDType", "ShortDType", "StrDType",
                            "TimeDelta64DType", "UByteDType", "UInt16DType", "UInt32DType", "UInt64DType",
                            "UInt8DType", "UIntDType", "ULongDType", "ULongLongDType", "UShortDType", "VoidDType"]
        for name in dtypeClasses { names.insert("numpy.dtypes.\(name)") }
        return names
    }()

    /// Allowlisted callables whose result is not always a fresh instance of a
    /// known type (they may hand back an object built elsewhere in the stream).
    /// A joblib stream must not `BUILD` on their results: the scanner could not
    /// tell whether joblib would then treat the value as an array wrapper.
    static let passthroughCallables: Set<String> = [
        "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar", "torch._tensor._rebuild_from_type_v2",
        "torch.jit._pickle.build_intlist", "torch.jit._pickle.build_tensorlist", "torch.jit._pickle.build_doublelist",
        "torch.jit._pickle.build_boollist", "torch.jit._pickle.build_tensor_from_id", "torch.jit._pickle.restore_type_tag",
    ]

    /// Allowlisted callables that instantiate the class given as their first
    /// argument (`copyreg._reconstructor(cls, base, state)`, `copyreg.__newobj__(cls, *args)`,
    /// `numpy.ma.core._mareconstruct(subtype, ...)`: `subtype.__new__`, without
    /// `__init__`; `numpy.random._pickle.__bit_generator_ctor(cls)`: `cls()`).
    /// The scanner tracks their result as an instance of that class.
    static let classInstantiators: [String: Bool] = [
        "copyreg._reconstructor": false, "copyreg.__newobj__": false, "numpy.ma.core._mareconstruct": false,
        "numpy.random._pickle.__bit_generator_ctor": true,
    ]

    /// Python 2 module names mapped the way the unpickler's `fix_imports` maps them.
    static let moduleAliases: [String: String] = [
        "__builtin__": "builtins", "exceptions": "builtins", "copy_reg": "copyreg", "cPickle": "pickle",
        "UserDict": "collections", "_abcoll": "collections", "Tkinter": "tkinter", "urllib2": "urllib",
        "httplib": "http", "thread": "_thread", "commands": "subprocess",
    ]

    /// `module.name` with the module mapped as `fix_imports` maps it: the key
    /// under which the allowlist and the scanner's models know a global.
    static func canonicalName(module rawModule: String, name: String) -> String {
        "\(mappedModule(rawModule)).\(name)"
    }

    /// The module `fix_imports` maps `rawModule` to (matched by exact bytes, as a Python dict lookup is).
    static func mappedModule(_ rawModule: String) -> String {
        guard let mapped = moduleAliases[rawModule], moduleAliases.keys.contains(where: { $0.utf8.elementsEqual(rawModule.utf8) }) else {
            return rawModule
        }
        return mapped
    }

    /// The classification of `module.name`.
    public static func classify(module rawModule: String, name: String) -> GlobalClassification {
        let module = mappedModule(rawModule)
        let moduleParts = module.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let nameParts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if moduleParts.contains(where: \.isEmpty) || nameParts.contains(where: \.isEmpty) { return .unknown }

        // Denylist: the module or any prefix of it, any module reached through
        // the dotted name, builtins' dangerous functions, exact pairs, names.
        for length in 1...moduleParts.count where dangerousModules.contains(moduleParts[0..<length].joined(separator: ".")) {
            return .dangerous
        }
        let full = moduleParts + nameParts
        for (index, part) in nameParts.enumerated() {
            if dangerousModules.contains(part) || dangerousNames.contains(part) { return .dangerous }
            let prefix = full[0..<(moduleParts.count + index + 1)].joined(separator: ".")
            if dangerousGlobals.contains(prefix) || dangerousModules.contains(prefix) { return .dangerous }
        }
        for length in 1...moduleParts.count where dangerousGlobals.contains(moduleParts[0..<length].joined(separator: ".")) {
            return .dangerous
        }
        if module == "builtins", dangerousBuiltins.contains(nameParts[0]) { return .dangerous }

        // Allowlist: exact (byte-equal), undotted names only. The denylist above
        // matches canonically equivalent spellings too, which only widens it.
        guard nameParts.count == 1 else { return .unknown }
        return containsExactly(safeGlobals, "\(module).\(name)") ? .safe : .unknown
    }

    /// Set membership by exact UTF-8 bytes: Swift's `String` equality (and so
    /// `Set<String>.contains`) treats canonically equivalent spellings as equal,
    /// which Python's attribute lookup does not.
    static func containsExactly(_ set: Set<String>, _ value: String) -> Bool {
        guard let member = set.firstIndex(of: value) else { return false }
        return ExactString.bytesEqual(set[member], value)
    }
}
