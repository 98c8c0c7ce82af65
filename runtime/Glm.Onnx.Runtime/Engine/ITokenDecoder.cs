namespace Glm.Onnx.Runtime.Engine;

/// <summary>
/// The seam for the tokenizer (folder Text/): turns generated ids into text incrementally. The engine works without
/// one (text deltas are empty and stop strings are rejected).
/// </summary>
public interface ITokenDecoder
{
    /// <summary>A fresh decoding stream for one request's output.</summary>
    ITokenTextStream CreateStream();
}

/// <summary>Incremental, UTF-8-safe decoding of one request's output tokens.</summary>
public interface ITokenTextStream
{
    /// <summary>The text this token completes; "" while a multi-byte character is still incomplete.</summary>
    string Append(int tokenId);

    /// <summary>Whatever is still buffered when the output ends.</summary>
    string Flush();
}
