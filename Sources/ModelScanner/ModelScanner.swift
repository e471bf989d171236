/// Static scanning of model files for unsafe serialization: pickle streams
/// (plain, inside PyTorch zip archives, .npy/.npz) are parsed, never executed,
/// and the globals they import are classified; .safetensors files are checked
/// structurally.
public enum ModelScanner {}
