namespace Glm.Onnx.Checkpoint;

/// <summary>
/// A checkpoint file, index or config is malformed or inconsistent. The message always names the file, and the tensor
/// or config field when one is involved, with what was expected and what was found.
/// </summary>
public sealed class CheckpointFormatException : Exception
{
    /// <summary>An error about a file, optionally about one tensor in it.</summary>
    public CheckpointFormatException(string filePath, string? tensorName, string message, Exception? inner = null)
        : base(Compose(filePath, tensorName is null ? null : $"tensor '{tensorName}'", message), inner)
    {
        FilePath = filePath;
        TensorName = tensorName;
    }

    private CheckpointFormatException(string filePath, string fieldName, string message, bool isField)
        : base(Compose(filePath, $"field '{fieldName}'", message))
    {
        _ = isField;
        FilePath = filePath;
        FieldName = fieldName;
    }

    /// <summary>An error about one field of a JSON file (config.json, the shard index).</summary>
    public static CheckpointFormatException ForField(string filePath, string fieldName, string message) =>
        new(filePath, fieldName, message, isField: true);

    /// <summary>The file at fault.</summary>
    public string FilePath { get; }

    /// <summary>The tensor at fault, when there is one.</summary>
    public string? TensorName { get; }

    /// <summary>The JSON field at fault, when there is one.</summary>
    public string? FieldName { get; }

    private static string Compose(string filePath, string? subject, string message) =>
        subject is null ? $"{filePath}: {message}" : $"{filePath}: {subject}: {message}";
}
