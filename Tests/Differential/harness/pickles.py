"""Hand-written pickle streams, opcode by opcode, in protocols 0 to 5.

`pickle.dumps` never writes a call to `os.system`; an attacker writes the
opcodes directly. `Call(module, name, args)` describes "import module.name and
call it with args"; `write(value, protocol, rng)` turns a value tree (None,
bool, int, float, str, bytes, list, tuple, dict, Call, Ref) into the opcodes a
hand-crafted exploit would use, varying the encoding with `rng` (GLOBAL or
STACK_GLOBAL, REDUCE or INST or OBJ, memoised names, frames) so that every
way of spelling the same import is exercised.
"""

import struct
from dataclasses import dataclass, field

MARK, STOP, POP, TUPLE, EMPTY_TUPLE = b"(", b".", b"0", b"t", b")"
REDUCE, BUILD, GLOBAL, INST, OBJ = b"R", b"b", b"c", b"i", b"o"
STACK_GLOBAL, MEMOIZE, FRAME = b"\x93", b"\x94", b"\x95"
NEWOBJ = b"\x81"
PY2_MODULES = {"__builtin__": "builtins", "commands": "subprocess", "cPickle": "pickle", "copy_reg": "copyreg"}


@dataclass
class Call:
    """`module.name(*args)`, optionally followed by BUILD with `state`."""

    module: str
    name: str
    args: tuple = ()
    state: object = None
    has_state: bool = False


@dataclass
class Global:
    """A bare reference to `module.name` (not called)."""

    module: str
    name: str


@dataclass
class New:
    """`cls.__new__(cls, *args)` via NEWOBJ (protocol 2+), then BUILD with `state`."""

    module: str
    name: str
    args: tuple = ()
    state: object = None


@dataclass
class Apply:
    """`func(*args)` where `func` is any value tree (a Call result, a Global...)."""

    func: object
    args: tuple = ()


@dataclass
class Raw:
    """Opcodes inserted verbatim (they must push exactly one value)."""

    data: bytes


@dataclass
class Writer:
    """Accumulates opcodes for one stream; tracks the memo for GET reuse."""

    protocol: int
    rng: object
    out: bytearray = field(default_factory=bytearray)
    memo: dict = field(default_factory=dict)
    next_memo: int = 0

    # -- scalars -------------------------------------------------------
    def string(self, text: str) -> None:
        rng, p = self.rng, self.protocol
        if text in self.memo and rng.random() < 0.5:
            self.get(self.memo[text])
            return
        if p == 0:
            if rng.random() < 0.5 and text.isascii():
                self.out += b"S" + repr(text).encode("ascii", "backslashreplace") + b"\n"
            else:
                self.out += b"V" + _raw_unicode_escape(text, rng) + b"\n"
        elif p < 3:
            data = text.encode("utf-8")
            if rng.random() < 0.5 and len(data) < 256 and text.isascii():
                self.out += b"U" + bytes([len(data)]) + data
            else:
                self.out += b"X" + struct.pack("<I", len(data)) + data
        else:
            data = text.encode("utf-8")
            if p >= 4 and len(data) < 256 and rng.random() < 0.7:
                self.out += b"\x8c" + bytes([len(data)]) + data
            else:
                self.out += b"X" + struct.pack("<I", len(data)) + data
        if rng.random() < 0.3:
            self.memo[text] = self.put()

    def bytes_(self, data: bytes) -> None:
        if self.protocol >= 3:
            if len(data) < 256:
                self.out += b"C" + bytes([len(data)]) + data
            else:
                self.out += b"B" + struct.pack("<I", len(data)) + data
        else:
            # Protocols 0-2 spell bytes as _codecs.encode(latin-1 text, "latin1"), as pickle does.
            self.value(Call("_codecs", "encode", (data.decode("latin-1"), "latin1")))

    def integer(self, n: int) -> None:
        if self.protocol == 0 or not (-(2**31) <= n < 2**31):
            if self.protocol >= 2:
                body = n.to_bytes((n.bit_length() + 8) // 8 or 1, "little", signed=True)
                self.out += b"\x8a" + bytes([len(body)]) + body
            else:
                self.out += b"I" + str(n).encode() + b"\n"
        elif 0 <= n < 256:
            self.out += b"K" + bytes([n])
        elif 0 <= n < 65536:
            self.out += b"M" + struct.pack("<H", n)
        else:
            self.out += b"J" + struct.pack("<i", n)

    # -- memo ----------------------------------------------------------
    def put(self) -> int:
        index = self.next_memo
        self.next_memo += 1
        if self.protocol >= 4 and self.rng.random() < 0.5:
            self.out += MEMOIZE
        elif self.protocol == 0:
            self.out += b"p" + str(index).encode() + b"\n"
        elif index < 256:
            self.out += b"q" + bytes([index])
        else:
            self.out += b"r" + struct.pack("<I", index)
        return index

    def get(self, index: int) -> None:
        if self.protocol == 0:
            self.out += b"g" + str(index).encode() + b"\n"
        elif index < 256:
            self.out += b"h" + bytes([index])
        else:
            self.out += b"j" + struct.pack("<I", index)

    # -- compound values ----------------------------------------------
    def global_(self, module: str, name: str) -> None:
        if self.protocol >= 3:
            # Python 2 names are mapped by the unpickler only for protocols 0-2.
            module = PY2_MODULES.get(module, module)
        key = ("global", module, name)
        if key in self.memo and self.rng.random() < 0.5:
            self.get(self.memo[key])
            return
        if self.protocol >= 4 and self.rng.random() < 0.7:
            self.string(module)
            self.string(name)
            self.out += STACK_GLOBAL
        else:
            self.out += GLOBAL + _line(module) + b"\n" + _line(name) + b"\n"
        if self.rng.random() < 0.3:
            self.memo[key] = self.put()

    def tuple_(self, items) -> None:
        items = tuple(items)
        if not items:
            self.out += EMPTY_TUPLE
            return
        if self.protocol >= 2 and len(items) <= 3 and self.rng.random() < 0.6:
            for item in items:
                self.value(item)
            self.out += {1: b"\x85", 2: b"\x86", 3: b"\x87"}[len(items)]
            return
        self.out += MARK
        for item in items:
            self.value(item)
        self.out += TUPLE

    def call(self, c: Call) -> None:
        rng, p = self.rng, self.protocol
        style = rng.random()
        if style < 0.15 and all(not isinstance(a, (Call, New, Apply, Raw)) for a in c.args):
            # INST: MARK args INST module name (every protocol reads it)
            self.out += MARK
            for a in c.args:
                self.value(a)
            self.out += INST + _line(c.module) + b"\n" + _line(c.name) + b"\n"
        elif style < 0.3 and p >= 1:
            # OBJ: MARK callable args OBJ
            self.out += MARK
            self.global_(c.module, c.name)
            for a in c.args:
                self.value(a)
            self.out += OBJ
        else:
            self.global_(c.module, c.name)
            self.tuple_(c.args)
            self.out += REDUCE
        if c.has_state:
            self.value(c.state)
            self.out += BUILD

    def value(self, v) -> None:
        if isinstance(v, Call):
            self.call(v)
        elif isinstance(v, New):
            self.global_(v.module, v.name)
            self.tuple_(v.args)
            self.out += NEWOBJ
            if v.state is not None:
                self.value(v.state)
                self.out += BUILD
        elif isinstance(v, Global):
            self.global_(v.module, v.name)
        elif isinstance(v, Apply):
            self.value(v.func)
            self.tuple_(v.args)
            self.out += REDUCE
        elif isinstance(v, Raw):
            self.out += v.data
        elif v is None:
            self.out += b"N"
        elif v is True or v is False:
            if self.protocol >= 2:
                self.out += b"\x88" if v else b"\x89"
            else:
                self.out += b"I01\n" if v else b"I00\n"
        elif isinstance(v, int):
            self.integer(v)
        elif isinstance(v, float):
            if self.protocol == 0:
                self.out += b"F" + repr(v).encode() + b"\n"
            else:
                self.out += b"G" + struct.pack(">d", v)
        elif isinstance(v, str):
            self.string(v)
        elif isinstance(v, (bytes, bytearray)):
            self.bytes_(bytes(v))
        elif isinstance(v, tuple):
            self.tuple_(v)
        elif isinstance(v, list):
            self.out += MARK
            for item in v:
                self.value(item)
            self.out += b"l"
        elif isinstance(v, dict):
            self.out += MARK
            for k, item in v.items():
                self.value(k)
                self.value(item)
            self.out += b"d"
        else:
            raise TypeError(f"cannot write {type(v).__name__}")


def write(value, protocol: int, rng, frame: bool | None = None) -> bytes:
    """One complete stream (PROTO, optional FRAME, value, STOP) for `value`."""
    w = Writer(protocol, rng)
    w.value(value)
    body = bytes(w.out) + STOP
    head = b"\x80" + bytes([protocol]) if protocol >= 2 else b""
    if frame is None:
        frame = protocol >= 4 and rng.random() < 0.5
    if frame and protocol >= 4:
        head += FRAME + struct.pack("<Q", len(body))
    return head + body


def snippet(value, protocol: int, rng) -> bytes:
    """Opcodes that push `value` then POP it: insertable between two opcodes of a stream."""
    w = Writer(protocol, rng)
    w.next_memo = 100000  # stay clear of the host stream's memo keys
    w.value(value)
    return bytes(w.out) + POP


def _line(text: str) -> bytes:
    return text.encode("utf-8")


def _raw_unicode_escape(text: str, rng) -> bytes:
    """Protocol-0 UNICODE argument; sometimes spells ASCII letters as \\uXXXX escapes."""
    out = bytearray()
    for ch in text:
        if ch.isalpha() and ch.isascii() and rng.random() < 0.3:
            out += b"\\u%04x" % ord(ch)
        elif ch in "\\\n" or not ch.isascii():
            out += b"\\u%04x" % ord(ch)
        else:
            out += ch.encode("ascii")
    return bytes(out)
