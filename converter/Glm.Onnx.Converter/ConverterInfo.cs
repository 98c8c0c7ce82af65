namespace Glm.Onnx.Converter;

/// <summary>Identity of this converter, recorded in graphs and the manifest.</summary>
public static class ConverterInfo
{
    /// <summary>Bumped when the artifacts it writes change for the same input (invalidates resumable partial output).</summary>
    public const string Version = "1.0";

    public static string Producer => $"glm-convert {Version}";
}
