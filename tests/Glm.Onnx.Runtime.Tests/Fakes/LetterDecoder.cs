using Glm.Onnx.Runtime.Engine;

namespace Glm.Onnx.Tests.Fakes;

/// <summary>Decodes token id v as the letter 'a' + v % 26 (enough to test text deltas and stop strings).</summary>
public sealed class LetterDecoder : ITokenDecoder
{
    public static string Text(IEnumerable<int> ids) => string.Concat(ids.Select(v => (char)('a' + v % 26)));

    public ITokenTextStream CreateStream() => new Stream();

    private sealed class Stream : ITokenTextStream
    {
        public string Append(int tokenId) => ((char)('a' + tokenId % 26)).ToString();

        public string Flush() => "";
    }
}
