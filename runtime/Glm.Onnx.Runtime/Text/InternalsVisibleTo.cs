using System.Runtime.CompilerServices;

// The tokenizer tests compare the two BPE merge paths (library and long-piece) directly.
[assembly: InternalsVisibleTo("Glm.Onnx.Runtime.Tests")]
