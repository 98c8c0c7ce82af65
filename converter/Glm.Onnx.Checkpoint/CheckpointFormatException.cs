namespace Glm.Onnx.Checkpoint;

/// <summary>
/// A checkpoint file, index or config is malformed or inconsistent. The message always names the file, and the tensor
/// or config field when one is involved, with what was expected and what was found:
/// <c>"{file}: tensor '{name}': {problem}"</c> or <c>"{file}: field '{path}': {problem}"</c>.
/// </summary>
public sealed class CheckpointFormatException : Exception
{
    /// <summary>An error about a file, optionally about one tensor in it.</summary>
    public CheckpointFormatException(string filePath, string? tensorName, string message, Exception? inner = null)
        : this(filePath, tensorName, null, message, inner)
    {
    }

    private CheckpointFormatException(string filePath, string? tensorName, string? fieldName, string message, Exception? inner)
        : base(Compose(filePath, tensorName, fieldName, message), inner)
    {
        FilePath = filePath;
        TensorName = tensorName;
        FieldName = fieldName;
    }

    /// <summary>An error about one field of a JSON file (config.json, the shard index); nested fields use dotted paths.</summary>
    public static CheckpointFormatException ForField(string filePath, string fieldName, string message) =>
        new(filePath, null, fieldName, message, null);

    /// <summary>The file at fault.</summary>
    public string FilePath { get; }

    /// <summary>The tensor at fault, when there is one.</summary>
    public string? TensorName { get; }

    /// <summary>The JSON field at fault, when there is one.</summary>
    public string? FieldName { get; }

    private static string Compose(string filePath, string? tensorName, string? fieldName, string message) =>
        tensorName is not null ? $"{filePath}: tensor '{tensorName}': {message}"
        : fieldName is not null ? $"{filePath}: field '{fieldName}': {message}"
        : $"{filePath}: {message}";
}
