"""Known-malicious pickle payloads, as value trees for `pickles.write`.

Each family is a function `(rng, ctx) -> value` that returns a call which has
an effect the guarded loader records (a process, an exec/compile, an import,
a write, a socket, ctypes). Every effect is harmless even if it were not
blocked: commands are `true`, code is `pass`, files are relative names inside
the worker's scratch directory, modules are `this`/`__hello__`.

`ctx` gives access to the container writers (for payloads that nest a whole
file, such as `torch.storage._load_from_bytes`).
"""

from .pickles import Apply, Call, Global

CMD = "true"
CODE = "pass"
CANARY = "modelsec-differential-canary.txt"


def _os_system(rng, ctx):
    return Call(rng.choice(["os", "posix"]), "system", (CMD,))


def _os_popen(rng, ctx):
    return Call("os", "popen", (CMD,))


def _os_exec_spawn(rng, ctx):
    name = rng.choice(["execv", "execvp", "spawnv", "spawnlp", "posix_spawn"])
    if name == "spawnv":
        return Call("os", "spawnv", (0, "/bin/true", ["true"]))
    if name == "spawnlp":
        return Call("os", "spawnlp", (0, "true", "true"))
    if name == "posix_spawn":
        return Call("os", "posix_spawn", ("/bin/true", ["true"], {}))
    return Call("os", name, ("/bin/true", ["true"]))


def _subprocess(rng, ctx):
    name = rng.choice(["Popen", "call", "check_call", "check_output", "run", "getoutput", "getstatusoutput"])
    arg = CMD if name in ("getoutput", "getstatusoutput") else [CMD]
    return Call(rng.choice(["subprocess", "commands"]) if name == "getoutput" else "subprocess", name, (arg,))


def _exec_eval(rng, ctx):
    module = rng.choice(["builtins", "__builtin__"])
    name = rng.choice(["exec", "eval", "compile"])
    if name == "compile":
        return Call(module, "compile", ("0", "<payload>", "eval"))
    return Call(module, name, (CODE if name == "exec" else "0",))


def _getattr_chain(rng, ctx):
    b = rng.choice(["builtins", "__builtin__"])
    target = rng.choice([("os", "system", (CMD,)), ("subprocess", "getoutput", (CMD,)),
                         ("builtins", "exec", (CODE,)), ("posix", "system", (CMD,))])
    importer = rng.choice([Call(b, "__import__", (target[0],)), Call("importlib", "import_module", (target[0],))])
    func = Call(b, "getattr", (importer, target[1]))
    return Apply(func, target[2])


def _dotted_name(rng, ctx):
    # Protocol 4+ resolves dotted names with getattr: module.attr.attr
    module, name = rng.choice([("torch.serialization", "os.system"), ("joblib.numpy_pickle", "os.system"),
                               ("torch.serialization", "pickle.loads")])
    if name == "pickle.loads":
        return Call(module, name, (ctx.plain_pickle(_os_system(rng, ctx), rng),))
    return Call(module, name, (CMD,))


def _doctest(rng, ctx):
    return Call("doctest", "debug_script", (CODE,))


def _runpy(rng, ctx):
    return rng.choice([Call("runpy", "_run_code", (CODE, {})), Call("runpy", "run_module", ("__hello__",))])


def _importlib(rng, ctx):
    return rng.choice([Call("importlib", "import_module", (rng.choice(["this", "__hello__"]),)),
                       Call("builtins", "__import__", ("this",))])


def _code_runners(rng, ctx):
    return rng.choice([Call("timeit", "timeit", (CODE,)), Call("pdb", "run", (CODE,)),
                       Call("numpy.testing._private.utils", "runstring", (CODE, {})),
                       Call("cProfile", "run", (CODE,))])


def _nested_pickle(rng, ctx):
    inner = ctx.plain_pickle(_os_system(rng, ctx), rng)
    return Call(rng.choice(["pickle", "_pickle", "cPickle"]), "loads", (inner,))


def _torch_load_from_bytes(rng, ctx):
    # torch.storage._load_from_bytes(b) is torch.load(BytesIO(b), weights_only=False)
    depth = rng.choice([1, 1, 2, 3])
    inner = _os_system(rng, ctx)
    for _ in range(depth):
        inner = Call("torch.storage", "_load_from_bytes", (ctx.torch_zip_with(inner, rng),))
    return inner


def _open_write(rng, ctx):
    return Call(rng.choice(["builtins", "io", "_io"]), "open", (CANARY, rng.choice(["w", "a", "wb", "x"])))


def _socket(rng, ctx):
    return rng.choice([Call("socket", "socket", ()), Call("socket", "create_connection", (("127.0.0.1", 9),))])


def _ctypes(rng, ctx):
    return Call("ctypes", "CDLL", (None,))


def _fs_mutation(rng, ctx):
    return rng.choice([Call("os", "remove", (CANARY,)), Call("shutil", "rmtree", ("modelsec-canary-dir",)),
                       Call("os", "mkdir", ("modelsec-canary-dir",))])


def _functools_partial(rng, ctx):
    return Apply(Call("functools", "partial", (Global("os", "system"), CMD)), ())


def _operator_gadgets(rng, ctx):
    if rng.random() < 0.5:
        return Apply(Call("operator", "methodcaller", ("system", CMD)), (Call("builtins", "__import__", ("os",)),))
    getter = Apply(Call("operator", "attrgetter", ("system",)), (Call("importlib", "import_module", ("os",)),))
    return Apply(getter, (CMD,))


def _copyreg_gadget(rng, ctx):
    return Call("copyreg", "_reconstructor", (Global("subprocess", "Popen"), Global("subprocess", "Popen"), [CMD]))


def _allowlisted_callers(rng, ctx):
    # Safe-listed functions that call a callable taken from the stream.
    if rng.random() < 0.5:
        return Call("torch._tensor", "_rebuild_from_type_v2",
                    (Global("os", "system"), Global("torch", "Tensor"), (CMD,), {}))
    return Call("numpy.random._pickle", "__randomstate_ctor", (CMD, Global("os", "system")))


# Every family: name -> builder. A family is a class of attack; the harness
# checks that each one is effective against the real loaders (self-check).
FAMILIES = {
    "os.system": _os_system,
    "os.popen": _os_popen,
    "os.exec-spawn": _os_exec_spawn,
    "subprocess": _subprocess,
    "exec-eval-compile": _exec_eval,
    "getattr-chain": _getattr_chain,
    "dotted-name": _dotted_name,
    "doctest.debug_script": _doctest,
    "runpy": _runpy,
    "importlib": _importlib,
    "code-runners": _code_runners,
    "nested-pickle.loads": _nested_pickle,
    "torch._load_from_bytes": _torch_load_from_bytes,
    "open-write": _open_write,
    "socket": _socket,
    "ctypes": _ctypes,
    "fs-mutation": _fs_mutation,
    "functools.partial": _functools_partial,
    "operator-gadgets": _operator_gadgets,
    "copyreg-gadget": _copyreg_gadget,
    "allowlisted-callers": _allowlisted_callers,
}
