import Foundation
import XCTest
import TestSupport

/// Benign and malicious GGUF, ONNX, Keras (.keras and legacy .h5), SavedModel
/// and PyTorch-under-.bin files, each written by its format's own Python
/// package (gguf, onnx, keras with the torch backend, h5py, torch). The
/// SavedModel protobufs are written by hand from the proto schema, because
/// tensorflow is not in the pinned environment. Nothing is ever loaded.
enum ModelFormatFixtures {
    /// The directory holding the samples (built once per test run).
    static func directory() throws -> URL {
        lock.lock()
        defer { lock.unlock() }
        if let built { return built }
        let python = try TestSupport.python()
        let dir = try TestSupport.makeTemporaryDirectory("model-format-fixtures")
        let result = try TestSupport.run(python, ["-c", script, dir.path], environment: ["KERAS_BACKEND": "torch"])
        guard result.status == 0 else {
            throw ScannerFixtures.FixtureError(message: "model format fixture script failed: \(result.stderrText)")
        }
        built = dir
        return dir
    }

    /// Malicious samples and the finding kind each must raise.
    static let malicious: [(name: String, kind: String)] = [
        ("evil_globals.gguf", "dangerous-template"), ("evil_cycler.gguf", "dangerous-template"),
        ("evil_subscript.gguf", "dangerous-template"), ("broken_template.gguf", "malformed-template"),
        ("onnx/evil_external.onnx", "external-reference"), ("onnx/evil_subgraph.onnx", "external-reference"),
        ("onnx/custom_op.onnx", "custom-operator"), ("evil_lambda.keras", "unsafe-layer"),
        ("evil_module.keras", "unsafe-layer"), ("duplicate_key.keras", "malformed-model"),
        ("evil_lambda.h5", "unsafe-layer"), ("evil_vlen.h5", "unsafe-layer"), ("weights_only.h5", "malformed-model"),
        ("tf_evil/saved_model.pb", "dangerous-operation"), ("tf_print/saved_model.pb", "dangerous-operation"),
    ]

    /// Benign samples: each must scan clean.
    static let benign = ["benign.gguf", "onnx/benign.onnx", "benign.keras", "benign.h5", "tf_benign/saved_model.pb",
                         "pytorch_model.bin", "legacy_model.bin"]

    private static let lock = NSLock()
    nonisolated(unsafe) private static var built: URL?

    static let script = #"""
import io, json, os, struct, sys, zipfile
os.environ.setdefault("KERAS_BACKEND", "torch")
import numpy as np

out = sys.argv[1]
def path(*names):
    p = os.path.join(out, *names)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p

# ---- GGUF (gguf's own writer) ----
import gguf
BENIGN_TEMPLATE = (
    "{%- set ns = namespace(found=false) -%}"
    "{{- bos_token -}}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}{%- set ns.found = true -%}{%- endif -%}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' -}}"
    "{%- if loop.last and message.tool_calls is defined -%}{{- message.tool_calls | tojson(indent=2) -}}{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}{%- endif -%}"
    "{# comment #}{%- if messages[0]['content'].startswith('x') -%}{{ raise_exception('no') }}{%- endif -%}"
)
def write_gguf(name, templates):
    w = gguf.GGUFWriter(path(name), "llama")
    w.add_uint32("llama.context_length", 2048)
    w.add_float32("llama.rope.freq_base", 10000.0)
    w.add_bool("general.flag", True)
    w.add_int64("general.i64", -5)
    w.add_float64("general.f64", 1.5)
    w.add_array("tokenizer.ggml.tokens", ["<s>", "</s>", "hello", "world"])
    w.add_array("tokenizer.ggml.scores", [0.0, 0.0, -1.0, -2.0])
    w.add_array("general.nested", [[1, 2], [3]])
    for key, value in templates.items():
        w.add_string(key, value)
    w.add_tensor("tok_embd.weight", np.zeros((4, 8), dtype=np.float32))
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
write_gguf("benign.gguf", {"tokenizer.chat_template": BENIGN_TEMPLATE})
write_gguf("evil_globals.gguf", {"tokenizer.chat_template":
    "{{ self.__init__.__globals__.__builtins__.__import__('os').system('touch /tmp/owned') }}"})
write_gguf("evil_cycler.gguf", {"tokenizer.chat_template": BENIGN_TEMPLATE,
    "tokenizer.chat_template.tool_use": "{{ cycler.next.gi_frame.f_back.f_globals.os.popen('id').read() }}"})
write_gguf("evil_subscript.gguf", {"tokenizer.chat_template":
    "{% set k = '_' ~ '_class' ~ '__' %}{{ ''[k] }}"})
write_gguf("broken_template.gguf", {"tokenizer.chat_template": "{% for m in messages %}{{ m['content'] }"})

# ---- ONNX (onnx's own helpers) ----
import onnx
from onnx import helper, TensorProto, numpy_helper
def tensor(name, external=None):
    t = numpy_helper.from_array(np.ones((2,), dtype=np.float32), name)
    if external is not None:
        t.ClearField("raw_data")
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", external), ("offset", "0"), ("length", "8")):
            e = t.external_data.add(); e.key = k; e.value = v
    return t
def model(nodes, inits, domain_opsets=()):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])], initializer=inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)] + [helper.make_opsetid(d, 1) for d in domain_opsets])
def branch(init):
    return helper.make_graph([helper.make_node("Add", ["x", init.name], ["b"])], "branch", [],
                             [helper.make_tensor_value_info("b", TensorProto.FLOAT, [2])], initializer=[init])
def if_node(then_init, else_init):
    return helper.make_node("If", ["cond"], ["y"], then_branch=branch(then_init), else_branch=branch(else_init))
onnx_dir = path("onnx", "x")[:-2]
with open(os.path.join(onnx_dir, "benign.onnx_data"), "wb") as f: f.write(b"\0" * 8)
onnx.save(model([helper.make_node("Add", ["x", "w"], ["t"]), if_node(tensor("a"), tensor("b", "benign.onnx_data"))], [tensor("w")]),
          os.path.join(onnx_dir, "benign.onnx"))
onnx.save(model([helper.make_node("Add", ["x", "w"], ["y"])], [tensor("w", "../../../../etc/passwd")]),
          os.path.join(onnx_dir, "evil_external.onnx"))
onnx.save(model([if_node(tensor("a"), tensor("b", "/etc/passwd"))], []), os.path.join(onnx_dir, "evil_subgraph.onnx"))
onnx.save(model([helper.make_node("Evil", ["x"], ["y"], domain="com.attacker")], [], ["com.attacker"]),
          os.path.join(onnx_dir, "custom_op.onnx"))

# ---- Keras 3 .keras and legacy .h5 (keras's own saving) ----
import keras
def dense_model(extra=None):
    layers = [keras.Input((4,)), keras.layers.Dense(2)]
    if extra is not None: layers.append(extra)
    return keras.Sequential(layers)
dense_model().save(path("benign.keras"))
dense_model(keras.layers.Lambda(lambda t: t * 2)).save(path("evil_lambda.keras"))
with zipfile.ZipFile(path("benign.keras")) as src, zipfile.ZipFile(path("evil_module.keras"), "w") as dst:
    for info in src.infolist():
        data = src.read(info.filename)
        if info.filename == "config.json":
            config = json.loads(data)
            config["config"]["layers"][-1]["module"] = "subprocess"
            config["config"]["layers"][-1]["class_name"] = "Popen"
            data = json.dumps(config).encode()
        dst.writestr(info, data)
import warnings
warnings.simplefilter("ignore")
dense_model().save(path("benign.h5"))
dense_model(keras.layers.Lambda(lambda t: t * 2)).save(path("evil_lambda.h5"))
import h5py
with h5py.File(path("weights_only.h5"), "w") as f:
    f.create_dataset("w", data=np.zeros((4,), dtype=np.float32))
with h5py.File(path("evil_vlen.h5"), "w") as f:
    f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {"layers": [
        {"class_name": "Lambda", "config": {"function": ["YmFzZTY0", None, None], "function_type": "lambda"}}]}})

# ---- TensorFlow SavedModel: no tensorflow in the environment, so the
# protobuf bytes are written by hand from saved_model.proto / graph.proto.
def varint(n):
    b = bytearray()
    while True:
        c = n & 0x7F; n >>= 7
        b.append(c | (0x80 if n else 0))
        if not n: return bytes(b)
def field(number, payload):
    if isinstance(payload, int): return varint(number << 3) + varint(payload)
    if isinstance(payload, str): payload = payload.encode()
    return varint(number << 3 | 2) + varint(len(payload)) + payload
def node(name, op, attrs=()):
    body = field(1, name) + field(2, op)
    for key, s in attrs:
        body += field(5, field(1, key) + field(2, field(2, s)))
    return body
def saved_model(nodes, functions=()):
    graph = b"".join(field(1, n) for n in nodes)
    if functions:
        lib = b"".join(field(1, field(1, field(1, fname)) + b"".join(field(3, n) for n in fnodes)) for fname, fnodes in functions)
        graph += field(2, lib)
    meta = field(2, graph)
    return field(1, 1) + field(2, meta)
benign_nodes = [node("x", "Placeholder"), node("w", "Const"), node("y", "MatMul"), node("save/Const", "Const"),
                node("save/RestoreV2", "RestoreV2"), node("save/SaveV2", "SaveV2"), node("p", "PrintV2", [("output_stream", "stderr")])]
with open(path("tf_benign", "saved_model.pb"), "wb") as f: f.write(saved_model(benign_nodes))
with open(path("tf_evil", "saved_model.pb"), "wb") as f:
    f.write(saved_model(benign_nodes, [("__inference_call", [node("r", "ReadFile"), node("py", "PyFunc")])]))
with open(path("tf_print", "saved_model.pb"), "wb") as f:
    f.write(saved_model([node("p", "PrintV2", [("output_stream", "file:///tmp/leak")])]))

# ---- PyTorch under a .bin name, told by content ----
import torch
torch.save({"w": torch.zeros(2)}, path("pytorch_model.bin"))
torch.save({"w": torch.zeros(2)}, path("legacy_model.bin"), _use_new_zipfile_serialization=False)

# A Keras config where a key repeats: Python's json keeps the last value, other readers the first.
with zipfile.ZipFile(path("benign.keras")) as src, zipfile.ZipFile(path("duplicate_key.keras"), "w") as dst:
    for info in src.infolist():
        data = src.read(info.filename)
        if info.filename == "config.json":
            data = data.replace(b'"class_name": "Dense"', b'"class_name": "Lambda", "class_name": "Dense"', 1)
            assert b'"Lambda"' in data
        dst.writestr(info, data)
"""#
}
