namespace Glm.Onnx.Converter.Onnx;

/// <summary>An ONNX AttributeProto of one of the kinds this project uses (int, float, string, ints, floats, tensor).</summary>
public sealed class OnnxAttribute
{
    // AttributeProto.AttributeType values.
    private const int TypeFloat = 1, TypeInt = 2, TypeString = 3, TypeTensor = 4, TypeFloats = 6, TypeInts = 7;

    private OnnxAttribute(string name, int type) { Name = name; Type = type; }

    public string Name { get; }
    private int Type { get; }
    private long _int;
    private float _float;
    private string? _string;
    private long[]? _ints;
    private float[]? _floats;
    private OnnxTensor? _tensor;

    public static OnnxAttribute Int(string name, long value) => new(name, TypeInt) { _int = value };
    public static OnnxAttribute Float(string name, float value) => new(name, TypeFloat) { _float = value };
    public static OnnxAttribute String(string name, string value) => new(name, TypeString) { _string = value };
    public static OnnxAttribute Ints(string name, params long[] values) => new(name, TypeInts) { _ints = values };
    public static OnnxAttribute Floats(string name, params float[] values) => new(name, TypeFloats) { _floats = values };
    public static OnnxAttribute Tensor(string name, OnnxTensor value) => new(name, TypeTensor) { _tensor = value };

    // AttributeProto fields: name 1, f 2, i 3, s 4, t 5, floats 7, ints 8, type 20.
    internal void WriteTo(ProtoWriter w)
    {
        w.WriteString(1, Name);
        switch (Type)
        {
            case TypeFloat: w.WriteFloat(2, _float); break;
            case TypeInt: w.WriteInt64(3, _int); break;
            case TypeString: w.WriteString(4, _string!); break;
            case TypeTensor: w.WriteMessage(5, _tensor!.WriteTo); break;
            case TypeFloats: foreach (var f in _floats!) w.WriteFloat(7, f); break;
            case TypeInts: foreach (var i in _ints!) w.WriteInt64(8, i); break;
        }
        w.WriteInt32(20, Type);
    }
}
