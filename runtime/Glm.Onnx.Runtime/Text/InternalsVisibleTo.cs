using System.Runtime.CompilerServices;

// The tokenizer tests compare the two BPE merge paths (library and long-piece) directly.
[assembly: InternalsVisibleTo("Glm.Onnx.Runtime.Tests")]

// DecodeBench's node-overhead mode builds its sessions with the engine's own SessionSettings, so it times the options
// the engine runs with.
[assembly: InternalsVisibleTo("Glm.Onnx.DecodeBench")]
