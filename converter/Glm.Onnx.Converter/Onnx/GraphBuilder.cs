using System.Globalization;

namespace Glm.Onnx.Converter.Onnx;

/// <summary>
/// Builds an ONNX graph node by node with every intermediate tensor named by the caller (llama.cpp style, e.g.
/// <c>layers.3.attn.q_latent</c>), so that a failing node or a debug dump points at a model concept. Names are
/// checked for uniqueness and inputs for existence as nodes are added, so a wiring mistake fails here, not in ORT.
/// </summary>
public sealed class GraphBuilder
{
    private readonly string _name;
    private readonly List<OnnxNode> _nodes = [];
    private readonly List<OnnxTensor> _initializers = [];
    private readonly List<OnnxValueInfo> _inputs = [];
    private readonly List<OnnxValueInfo> _outputs = [];
    private readonly HashSet<string> _values = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _constants = new(StringComparer.Ordinal);

    public GraphBuilder(string name) => _name = name;

    public int NodeCount => _nodes.Count;

    public bool Has(string valueName) => _values.Contains(valueName);

    public string Input(string name, OnnxDataType type, params OnnxDim[] shape)
    {
        Define(name);
        _inputs.Add(new OnnxValueInfo(name, type, shape));
        return name;
    }

    /// <summary>Declares an existing value as a graph output.</summary>
    public void Output(string name, OnnxDataType type, params OnnxDim[] shape)
    {
        Require(name, "graph output");
        _outputs.Add(new OnnxValueInfo(name, type, shape));
    }

    public string Initializer(OnnxTensor tensor)
    {
        Define(tensor.Name);
        _initializers.Add(tensor);
        return tensor.Name;
    }

    /// <summary>An int64 constant (shapes, axes, split sizes), shared between nodes that ask for the same values.</summary>
    public string Int64s(params long[] values)
    {
        var key = "const.i64." + string.Join("_", values.Select(v => v.ToString(CultureInfo.InvariantCulture)));
        if (_constants.TryGetValue(key, out var existing)) return existing;
        _constants[key] = key;
        return Initializer(OnnxTensor.Int64(key, [values.Length], values));
    }

    /// <summary>A float scalar constant (shape []), shared by value.</summary>
    public string Scalar(float value)
    {
        var key = "const.f32." + BitConverter.SingleToInt32Bits(value).ToString("x8", CultureInfo.InvariantCulture);
        if (_constants.TryGetValue(key, out var existing)) return existing;
        _constants[key] = key;
        return Initializer(OnnxTensor.Float(key, [], [value]));
    }

    /// <summary>Adds a standard-domain node with one output and returns the output's name.</summary>
    public string Op(string opType, string output, string[] inputs, params OnnxAttribute[] attributes) =>
        Node(opType, [output], inputs, "", attributes)[0];

    /// <summary>Adds a node of any domain with any number of outputs.</summary>
    public IReadOnlyList<string> Node(string opType, string[] outputs, string[] inputs, string domain,
        params OnnxAttribute[] attributes)
    {
        foreach (var input in inputs)
            if (input.Length > 0) Require(input, $"input of {opType} -> {outputs.FirstOrDefault()}");
        // An empty output name leaves an optional output unused (ONNX convention); only the first must be named.
        if (outputs.Length == 0 || outputs[0].Length == 0) throw new ArgumentException($"{opType}: the first output must be named");
        foreach (var output in outputs)
            if (output.Length > 0) Define(output);
        _nodes.Add(new OnnxNode("n:" + outputs[0], opType, inputs, outputs, attributes, domain));
        return outputs;
    }

    public OnnxGraph Build()
    {
        if (_outputs.Count == 0) throw new InvalidOperationException($"graph '{_name}' declares no outputs");
        return new OnnxGraph(_name, _nodes.ToArray(), _initializers.ToArray(), _inputs.ToArray(), _outputs.ToArray());
    }

    private void Define(string name)
    {
        if (string.IsNullOrEmpty(name)) throw new ArgumentException("tensor names must not be empty");
        if (!_values.Add(name)) throw new InvalidOperationException($"graph '{_name}': tensor '{name}' is defined twice");
    }

    private void Require(string name, string what)
    {
        if (!_values.Contains(name))
            throw new InvalidOperationException($"graph '{_name}': {what} refers to '{name}', which is not defined yet");
    }
}
