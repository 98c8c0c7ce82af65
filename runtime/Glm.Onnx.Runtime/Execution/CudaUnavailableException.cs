namespace Glm.Onnx.Runtime;

/// <summary>
/// A stage was placed on a CUDA device that this process cannot use; the message says why and what to do. A
/// <see cref="NotSupportedException"/>, so callers that report unsupported configurations (glm-run) report this too.
/// </summary>
public sealed class CudaUnavailableException : NotSupportedException
{
    public CudaUnavailableException(string message, Exception? inner = null) : base(message, inner)
    {
    }
}
