/// Classifies the globals a pickle imports: denylist first, then an exact
/// allowlist, everything else unknown.
///
/// Matching rules (see docs/scanner.md):
/// - Python 2 module names are mapped as the unpickler's `fix_imports` does
///   (`__builtin__` -> `builtins`, `copy_reg` -> `copyreg`, ...).
/// - Protocol 4+ resolves dotted names with a chain of `getattr`s, so
///   `("torch", "_utils.os.system")` reaches `os.system`. A dotted name is
///   never safe, and every component is checked against the denylist.
/// - A module is denied together with all its submodules (`os` covers `os.path`).
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
        "numpy.lib.npyio.load", "numpy.f2py", "numpy.distutils.exec_command",
        "torch.load", "torch.save", "torch.hub.load", "torch.serialization.load", "torch.jit.load",
        "torch._C._import_ir_module", "torch.classes.load_library", "torch.ops.load_library",
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
    ]

    /// Exact safe `module.name` pairs: what PyTorch, numpy and scikit-learn
    /// checkpoints use (in addition to the class rules in `isSafeClass`).
    static let safeGlobals: Set<String> = {
        var names: Set<String> = [
            // PyTorch tensor reconstruction (torch.save of state dicts and modules).
            "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3",
            "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
            "torch._utils._rebuild_sparse_tensor", "torch._utils._rebuild_sparse_csr_tensor",
            "torch._utils._rebuild_qtensor", "torch._utils._rebuild_device_tensor_from_numpy",
            "torch._utils._rebuild_meta_tensor_no_storage", "torch._utils._rebuild_wrapper_subclass",
            "torch._utils._rebuild_nested_tensor", "torch._utils._rebuild_device_tensor_from_cpu_tensor",
            "torch._tensor._rebuild_from_type", "torch._tensor._rebuild_from_type_v2",
            "torch.serialization._get_layout", "torch.Size", "torch.device", "torch.Tensor",
            "torch.nn.parameter.Parameter", "torch.storage.UntypedStorage", "torch.storage.TypedStorage",
            "torch.storage._load_from_bytes", "torch.UntypedStorage", "torch.TypedStorage",
            "torch.strided", "torch.sparse_coo", "torch.sparse_csr", "torch.sparse_csc", "torch.sparse_bsr",
            "torch.sparse_bsc", "torch._mkldnn", "torch.contiguous_format", "torch.channels_last",
            "torch.channels_last_3d", "torch.preserve_format", "torch.per_tensor_affine",
            "torch.per_channel_affine", "torch.per_tensor_symmetric", "torch.per_channel_symmetric",
            "torch.per_channel_affine_float_qparams",
            // Python containers and plain values.
            "collections.OrderedDict", "collections.defaultdict", "collections.Counter", "collections.deque",
            "builtins.set", "builtins.frozenset", "builtins.dict", "builtins.list", "builtins.tuple",
            "builtins.bytes", "builtins.bytearray", "builtins.complex", "builtins.slice", "builtins.range",
            "builtins.int", "builtins.float", "builtins.str", "builtins.bool", "builtins.object",
            "builtins.NoneType", "builtins.Ellipsis", "builtins.NotImplemented",
            "copyreg._reconstructor", "copyreg.__newobj__", "_codecs.encode", "codecs.encode",
            "datetime.datetime", "datetime.date", "datetime.time", "datetime.timedelta", "datetime.timezone",
            "decimal.Decimal", "fractions.Fraction", "uuid.UUID", "argparse.Namespace", "enum.Enum",
            // numpy arrays, dtypes, scalars and random states (numpy 1.x and 2.x paths).
            "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
            "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
            "numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer",
            "numpy.ndarray", "numpy.dtype", "numpy.ma.core._mareconstruct", "numpy.ma.core.MaskedArray",
            "numpy.random._pickle.__randomstate_ctor", "numpy.random._pickle.__bit_generator_ctor",
            "numpy.random._pickle.__generator_ctor", "numpy.random.mtrand.RandomState",
            "numpy.random._mt19937.MT19937", "numpy.random._pcg64.PCG64", "numpy.random._generator.Generator",
            // joblib's array wrappers (scikit-learn models saved with joblib).
            "joblib.numpy_pickle.NumpyArrayWrapper", "joblib.numpy_pickle.NDArrayWrapper",
            "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
        ]
        let torchDtypes = ["float32", "float", "float64", "double", "float16", "half", "bfloat16", "complex32",
                           "complex64", "complex128", "cfloat", "cdouble", "uint8", "int8", "int16", "short",
                           "int32", "int", "int64", "long", "bool", "quint8", "qint8", "qint32", "quint4x2",
                           "quint2x4", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz",
                           "uint16", "uint32", "uint64"]
        for dtype in torchDtypes { names.insert("torch.\(dtype)") }
        let storages = ["Float", "Double", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool",
                        "ComplexFloat", "ComplexDouble", "QInt8", "QUInt8", "QInt32", "QUInt4x2", "QUInt2x4"]
        for storage in storages {
            names.insert("torch.\(storage)Storage")
            names.insert("torch.cuda.\(storage)Storage")
        }
        let numpyScalars = ["bool_", "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                            "uint64", "float16", "float32", "float64", "longdouble", "complex64", "complex128",
                            "clongdouble", "str_", "bytes_", "void", "object_", "datetime64", "timedelta64",
                            "intc", "uintc", "intp", "uintp", "longlong", "ulonglong", "half", "single", "double"]
        for scalar in numpyScalars { names.insert("numpy.\(scalar)") }
        return names
    }()

    /// Module prefixes whose *classes* (capitalized names) are safe to
    /// instantiate: estimators and layers restore state with `__setstate__`,
    /// not with arbitrary calls.
    static let safeClassModulePrefixes: [String] = ["sklearn.", "torch.nn.modules.", "numpy.dtypes", "scipy.sparse."]

    /// Python 2 module names mapped the way the unpickler's `fix_imports` maps them.
    static let moduleAliases: [String: String] = [
        "__builtin__": "builtins", "exceptions": "builtins", "copy_reg": "copyreg", "cPickle": "pickle",
        "UserDict": "collections", "_abcoll": "collections", "Tkinter": "tkinter", "urllib2": "urllib",
        "httplib": "http", "thread": "_thread", "commands": "subprocess",
    ]

    /// The classification of `module.name`.
    public static func classify(module rawModule: String, name: String) -> GlobalClassification {
        let module = moduleAliases[rawModule] ?? rawModule
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
            if dangerousGlobals.contains(prefix) { return .dangerous }
        }
        for length in 1...moduleParts.count where dangerousGlobals.contains(moduleParts[0..<length].joined(separator: ".")) {
            return .dangerous
        }
        if module == "builtins", dangerousBuiltins.contains(nameParts[0]) { return .dangerous }

        // Allowlist: exact, undotted names only.
        guard nameParts.count == 1 else { return .unknown }
        if safeGlobals.contains("\(module).\(name)") { return .safe }
        if let first = name.first, first.isUppercase, !name.hasPrefix("_"),
           safeClassModulePrefixes.contains(where: { module.hasPrefix($0) || module == String($0.dropLast()) }) {
            return .safe
        }
        return .unknown
    }
}
