"""The audit hook that watches the real loaders (PEP 578, `sys.addaudithook`).

While armed, every effect a model file must not have is recorded and blocked
(the hook raises, so the action does not happen): processes, exec/compile of
code that is not an allowed module being imported, imports outside the
allowlist, opening files for writing outside the scratch directory, reading
files outside the model's own directory, sockets, ctypes, file-system changes,
new audit hooks, tracing, environment changes.

The hook cannot be removed once added; `armed` is switched on only around a
loader call, after the loaders' own modules are imported (warm-up), so import
machinery outside a load is not judged. Writes are allowed only in the
`writable` directory (the loaders' tempfile directory: torch extracts legacy
tar members there); the working directory is elsewhere, so a relative path in
a payload is a recorded write.
"""

import os
import sys

# Importable while armed: the loaders and the modules the allowlisted globals live in.
IMPORT_ALLOW = (
    "torch", "numpy", "joblib", "safetensors", "collections", "copyreg", "_codecs", "codecs", "encodings",
    "datetime", "_datetime", "decimal", "_decimal", "_pydecimal", "fractions", "uuid", "_uuid", "argparse",
    "enum", "typing", "typing_extensions", "zipfile", "tarfile", "gzip", "bz2", "_bz2", "lzma", "_lzma", "zlib",
    "struct", "_struct", "io", "_io", "numbers", "_compat_pickle", "pickle", "_pickle", "copy", "weakref",
    "_weakrefset", "abc", "_abc", "contextlib", "functools", "operator", "_operator", "warnings", "re", "sre_compile",
    "sre_parse", "math", "cmath", "array", "binascii", "base64", "string", "_string", "difflib", "ast", "_ast",
    "dataclasses", "inspect", "dis", "opcode", "_opcode", "linecache", "tokenize", "token", "textwrap",
    "traceback", "locale", "_locale", "ml_dtypes", "sympy", "mpmath", "filelock", "fsspec", "importlib.metadata",
)

# Always recorded and blocked while armed.
BLOCK_EXACT = {
    "os.system", "os.exec", "os.spawn", "os.posix_spawn", "os.fork", "os.forkpty", "os.kill", "os.killpg",
    "subprocess.Popen", "pty.spawn", "code.__new__", "sys.addaudithook", "sys.settrace", "sys.setprofile",
    "builtins.input", "builtins.breakpoint", "os.putenv", "os.unsetenv", "os.chdir", "os.chroot",
    "webbrowser.open", "urllib.Request", "http.client.connect", "http.client.send", "ftplib.connect",
    "smtplib.connect", "poplib.connect", "imaplib.open", "telnetlib.Telnet.open", "nntplib.connect",
    "resource.setrlimit", "resource.prlimit", "sys.remote_exec", "gc.get_objects", "gc.get_referrers",
    "gc.get_referents", "sqlite3.connect", "sqlite3.enable_load_extension", "sqlite3.load_extension",
    "signal.pthread_kill", "os.setns", "os.unshare", "sys.monitoring.register_callback", "cpython.run_command",
    "cpython.run_file", "cpython.run_module", "cpython.run_startup", "cpython.run_interactivehook",
}
BLOCK_PREFIXES = ("socket.", "ctypes.", "os.exec", "os.spawn", "_winapi.", "winreg.", "msvcrt.")
# Allowed only when every path argument is inside the writable directory:
# event -> ((index of a path argument, index of its dir_fd argument or None), ...)
PATH_EVENTS = {
    "os.mkdir": ((0, 2),), "os.rmdir": ((0, 1),), "os.remove": ((0, 1),), "os.rename": ((0, 2), (1, 3)),
    "os.replace": ((0, 2), (1, 3)), "os.chmod": ((0, 2),), "os.chown": ((0, 3),), "os.link": ((0, 2), (1, 3)),
    "os.symlink": ((1, 2),), "os.truncate": ((0, None),), "os.utime": ((0, 3),), "os.mkfifo": ((0, 2),),
    "os.mknod": ((0, 3),), "os.setxattr": ((0, None),), "os.removexattr": ((0, None),),
    "shutil.rmtree": ((0, 1),), "shutil.copyfile": ((1, None),), "shutil.copytree": ((1, None),),
    "shutil.move": ((0, None), (1, None)), "shutil.make_archive": ((0, None),),
    "shutil.unpack_archive": ((1, None),), "shutil.chown": ((0, None),),
    "tempfile.mkstemp": ((0, None),), "tempfile.mkdtemp": ((0, None),),
}
# Code compiled or executed only as part of importing an allowed module.
IMPORT_ONLY = {"exec", "compile", "marshal.loads", "marshal.load"}

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


class Blocked(PermissionError):
    """Raised by the hook to stop an action; the loader may catch it, the record stays."""


class Guard:
    """State of the hook; one per worker process."""

    def __init__(self, scratch: str, writable: str, report):
        self.scratch = os.path.realpath(scratch)
        self.writable = os.path.realpath(writable)
        self.root = None
        self.armed = False
        self.busy = False
        self.events = []
        self.globals = []
        self.report = report  # called with each event as it happens (written to the parent at once)
        prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
        prefixes |= {p for p in sys.path if p and os.path.isdir(p)}
        self.read_ok = tuple(sorted({os.path.realpath(p) + os.sep for p in prefixes}))
        self.read_ok += ("/dev/null", "/dev/urandom", "/proc/self/", "/proc/" + str(os.getpid()) + "/",
                         "/sys/devices/system/cpu/", "/sys/fs/cgroup/", "/etc/localtime", "/usr/share/zoneinfo/")
        self.available = _top_level_modules()

    # -- decisions -----------------------------------------------------
    def _inside(self, path, base, dir_fd=None) -> bool:
        try:
            if isinstance(path, int):
                return True
            p = os.fsdecode(path)
            if isinstance(dir_fd, int) and dir_fd >= 0 and not os.path.isabs(p):
                p = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), p)
            p = os.path.realpath(p)
        except Exception:
            return False
        return p == base or p.startswith(base + os.sep)

    def allowed_import(self, name: str) -> bool:
        return any(name == a or name.startswith(a + ".") for a in IMPORT_ALLOW)

    def _importing(self) -> bool:
        """True when the innermost import running is of an allowed module (its code may compile and exec)."""
        frame = sys._getframe(2)
        while frame is not None:
            code = frame.f_code
            if code.co_filename == "<frozen importlib._bootstrap>" and code.co_name == "_find_and_load":
                return self.allowed_import(str(frame.f_locals.get("name", "")))
            frame = frame.f_back
        return False

    def _caller_is_ast_parse(self) -> bool:
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename == __file__:
            frame = frame.f_back
        return frame is not None and frame.f_code.co_name == "parse" and \
            frame.f_code.co_filename.endswith(os.sep + "ast.py")

    def _is_source_line(self, args) -> bool:
        """A piece of a line of an installed source file, parsed under that file's name: Python does this
        to place the ^^^ markers when it prints a traceback (an exception that cannot be raised, for
        example). It parses to a syntax tree only; executing anything still needs an `exec` event."""
        if len(args) < 2 or not isinstance(args[1], str) or not isinstance(args[0], (bytes, str)):
            return False
        path = os.path.realpath(args[1])
        if not path.endswith(".py") or not path.startswith(self.read_ok) or not os.path.isfile(path):
            return False
        source = args[0].decode("utf-8", "replace") if isinstance(args[0], bytes) else args[0]
        try:
            with open(path, encoding="utf-8") as f:
                return bool(source.strip()) and source in f.read()
        except OSError:
            return False

    def judge(self, event: str, args):
        if event == "pickle.find_class":
            self.globals.append(f"{args[0]}.{args[1]}")
            return None
        if event in BLOCK_EXACT or event.startswith(BLOCK_PREFIXES):
            return event, _describe(args)
        if event in IMPORT_ONLY:
            if event == "compile" and (self._caller_is_ast_parse() or self._is_source_line(args)):
                return None
            return None if self._importing() else (event, _describe(args))
        if event == "import":
            return self.import_verdict(str(args[0]))
        if event == "open":
            path, mode, flags = (list(args) + [None, None, None])[:3]
            if isinstance(path, int):
                return None
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
                (mode is None and isinstance(flags, int) and flags & WRITE_FLAGS)
            if writing:
                return None if self._inside(path, self.writable) else ("open-write", _describe(args))
            if self._inside(path, self.scratch) or (self.root and self._inside(path, self.root)):
                return None
            try:
                real = os.path.realpath(os.fsdecode(path))
            except Exception:
                return "open-read-outside", _describe(args)
            if real.startswith(self.read_ok) or real + os.sep in self.read_ok:
                return None
            return "open-read-outside", real
        if event in PATH_EVENTS:
            for i, fd in PATH_EVENTS[event]:
                dir_fd = args[fd] if fd is not None and fd < len(args) else None
                if i < len(args) and args[i] is not None and not self._inside(args[i], self.writable, dir_fd):
                    return event, _describe(args)
            return None
        return None

    def import_verdict(self, name: str):
        if self.allowed_import(name):
            return None
        return ("import" if name.split(".")[0] in self.available else "import-unavailable"), name

    def hook(self, event: str, args) -> None:
        if not self.armed or self.busy:
            return
        self.busy = True
        try:
            verdict = self.judge(event, args)
        finally:
            self.busy = False
        if verdict is not None:
            record = {"event": verdict[0], "detail": str(verdict[1])[:300]}
            self.events.append(record)
            self.report(record)
            raise Blocked(f"differential harness blocked {event}")

    def install(self) -> None:
        sys.addaudithook(self.hook)
        # importlib.import_module raises no "import" audit event; every import of a module
        # not yet loaded asks sys.meta_path first, so a finder placed first sees them all.
        sys.meta_path.insert(0, _ImportFinder(self))


class _ImportFinder:
    """First entry of sys.meta_path: blocks (and records) imports outside the allowlist while armed."""

    def __init__(self, guard: Guard):
        self.guard = guard

    def find_spec(self, name, path=None, target=None):
        g = self.guard
        if not g.armed or g.busy:
            return None
        verdict = g.import_verdict(name)
        if verdict is None:
            return None
        record = {"event": verdict[0], "detail": verdict[1]}
        g.events.append(record)
        g.report(record)
        raise Blocked(f"differential harness blocked import of {name}")

    def invalidate_caches(self):
        pass


def _describe(args) -> str:
    parts = []
    for a in args[:3]:
        text = repr(a)
        parts.append(text if len(text) < 120 else text[:117] + "...")
    return ", ".join(parts)


def _top_level_modules() -> set:
    import pkgutil

    names = set(sys.builtin_module_names) | set(sys.modules)
    names |= {m.name for m in pkgutil.iter_modules()}
    return {n.split(".")[0] for n in names}
