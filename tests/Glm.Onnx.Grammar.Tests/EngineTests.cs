using System.Text;
using Glm.Onnx.Grammar;
using static Glm.Onnx.Grammar.Tests.TestVocabulary;

namespace Glm.Onnx.Grammar.Tests;

public sealed class EngineTests
{
    [Fact]
    public void TokensSplittingAUtf8CharacterAreAllowedInAString()
    {
        var g = Schema("{\"type\":\"string\",\"maxLength\":5}");
        var state = g.NewState();
        var mask = new ulong[Instance.MaskWords];
        Assert.True(state.Advance('"'));
        state.ComputeMask(mask);
        Assert.True(MaskOps.IsAllowed(mask, PartialId(0)));  // "a\xC3"
        Assert.False(MaskOps.IsAllowed(mask, PartialId(1))); // "\xA9b" cannot start a character
        Assert.True(state.Advance(PartialId(0)));
        state.ComputeMask(mask);
        Assert.True(MaskOps.IsAllowed(mask, PartialId(1)));
        Assert.False(MaskOps.IsAllowed(mask, '"'));          // inside a character
        Assert.True(state.Advance(PartialId(1)));
        Assert.True(state.Advance('"'));
        Assert.True(state.IsAccepting);
    }

    [Fact]
    public void MaskAllowsNonCanonicalTokenizationsAndMultiTokenPieces()
    {
        var g = Schema("{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}},\"required\":[\"name\"],\"additionalProperties\":false}");
        var state = g.NewState();
        var mask = new ulong[Instance.MaskWords];
        state.ComputeMask(mask);
        Assert.True(MaskOps.IsAllowed(mask, IdOf("{\"")));
        Assert.True(MaskOps.IsAllowed(mask, '{'));
        Assert.False(MaskOps.IsAllowed(mask, '['));
        Assert.False(MaskOps.IsAllowed(mask, SpecialId));
        Assert.True(state.Advance(IdOf("{\"")));
        state.ComputeMask(mask);
        Assert.True(MaskOps.IsAllowed(mask, IdOf("name")));
        Assert.False(MaskOps.IsAllowed(mask, IdOf("age")));
        Assert.True(state.Advance(IdOf("name")));
        state.ComputeMask(mask);
        Assert.True(MaskOps.IsAllowed(mask, IdOf("\":\"")));
        Assert.Equal(1 + 2, MaskOps.Count(mask)); // '"', "\":" and "\":\""
    }

    [Fact]
    public void InsideAFreeStringTheWholeSafeSliceIsAllowed()
    {
        var g = Schema("{\"type\":\"string\"}");
        var state = g.NewState();
        Assert.True(state.AdvanceBytes("\"x"u8));
        var mask = new ulong[Instance.MaskWords];
        state.ComputeMask(mask);
        // A token may close the string only at its last byte: the top-level string then ends the output.
        string[] refused = ["\"}", "\":", "\",\"", "\":\""];
        foreach (var w in Words)
            Assert.True(!refused.Contains(w) == MaskOps.IsAllowed(mask, IdOf(w)), w);
        Assert.False(MaskOps.IsAllowed(mask, '\n'));
    }

    [Theory]
    [InlineData("{\"type\":\"string\",\"maxLength\":4}", "\"")]
    [InlineData("{\"type\":\"string\",\"maxLength\":4}", "\"a")]
    [InlineData("{\"type\":\"string\",\"maxLength\":4}", "\"ab")]
    [InlineData("{\"type\":\"string\",\"maxLength\":4}", "\"abc")]
    [InlineData("{\"type\":\"string\",\"maxLength\":4}", "\"abcd")]
    [InlineData("{\"type\":\"string\",\"minLength\":3,\"maxLength\":12}", "\"\u00e9")]
    [InlineData("{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":2}}}", "{\"name\":\"x")]
    [InlineData("{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":2}}}", "{\"name\":")]
    [InlineData("{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}", "[12")]
    [InlineData("{\"type\":\"string\",\"maxLength\":12}", "\"")]
    [InlineData("{\"type\":\"string\",\"maxLength\":12}", "\"abc")]
    [InlineData("{\"type\":\"string\",\"maxLength\":12}", "\"abcdefghij")]
    [InlineData("{\"type\":\"string\",\"minLength\":10,\"maxLength\":16}", "\"ab")]
    [InlineData("{\"type\":\"string\",\"maxLength\":20}", "\"\u65e5")]
    [InlineData("{\"type\":\"string\",\"minLength\":14}", "\"")]
    [InlineData("{\"type\":\"string\",\"pattern\":\"^[a-z]+$\"}", "\"a")]
    [InlineData("{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"age\":{\"type\":\"integer\"}}}", "{\"")]
    [InlineData("{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"age\":{\"type\":\"integer\"}}}", "{\"na")]
    [InlineData("{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}},\"additionalProperties\":false}", "{\"")]
    public void MaskMatchesFeedingEveryTokenAlone(string schema, string prefix)
    {
        // Bounded strings take whole slices by character count or refuse them whole: the mask must still say exactly
        // which tokens Advance accepts (Advance walks the lexer byte by byte and never looks at slices).
        var state = Schema(schema).NewState();
        Assert.True(state.AdvanceBytes(Encoding.UTF8.GetBytes(prefix)));
        var mask = new ulong[Instance.MaskWords];
        state.ComputeMask(mask);
        for (var id = 0; id < Instance.Size; id++)
        {
            if (id == SpecialId)
                continue;
            var expected = state.Clone().Advance(id);
            Assert.True(expected == MaskOps.IsAllowed(mask, id), $"token {id} ({Encoding.UTF8.GetString(Instance.Bytes(id))}) after {prefix}: Advance says {expected}");
        }
    }

    [Theory]
    [InlineData("{\"type\":\"string\",\"maxLength\":12}", "\"abc", 9)]
    [InlineData("{\"type\":\"string\",\"maxLength\":12}", "\"", 12)]
    [InlineData("{\"type\":\"string\",\"minLength\":2,\"maxLength\":40}", "\"\u00e9\u00e9", 38)]
    [InlineData("{\"type\":\"string\",\"maxLength\":3}", "\"abc", 0)]
    public void InsideABoundedStringSlicesUpToTheCharactersLeftAreTakenWholeAndLongerOnesRefusedWhole(string schema,
        string prefix, int left)
    {
        var g = Schema(schema);
        var state = g.NewState();
        Assert.True(state.AdvanceBytes(Encoding.UTF8.GetBytes(prefix)));
        var max = Vocabulary.TokenVocabulary.SliceMaxChars;
        for (var s = 0; s < max.Length; s++)
        {
            var lo = s == 0 ? 1 : max[s - 1] + 1;
            var expected = max[s] <= left ? Lexer.SliceVerdict.Always
                : lo > left ? Lexer.SliceVerdict.Never
                : Lexer.SliceVerdict.Mixed;
            Assert.Equal(expected, g.SliceVerdictOf(state.LexerState, s));
        }
    }

    [Fact]
    public void InAFreeStringEverySliceIsTakenWholeAndOutsideStringsNone()
    {
        var g = Schema("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}");
        var state = g.NewState();
        Assert.True(state.AdvanceBytes("{\"a\":\"x"u8));
        for (var s = 0; s < Vocabulary.TokenVocabulary.SliceMaxChars.Length; s++)
            Assert.Equal(Lexer.SliceVerdict.Always, g.SliceVerdictOf(state.LexerState, s));
        var outside = g.NewState();
        Assert.True(outside.AdvanceBytes("{\"a\":"u8));
        // After ':' that lexeme may end at the next byte, and then the parser decides: no slice is decided whole.
        for (var s = 0; s < Vocabulary.TokenVocabulary.SliceMaxChars.Length; s++)
            Assert.Equal(Lexer.SliceVerdict.Mixed, g.SliceVerdictOf(outside.LexerState, s));
    }

    [Fact]
    public void ForcedBytesFollowTheOnlyContinuation()
    {
        var g = Schema("{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}},\"required\":[\"name\"],\"additionalProperties\":false}");
        var state = g.NewState();
        Assert.Equal("{\"name\":\"", Encoding.UTF8.GetString(state.ForcedBytes()));
        Assert.True(state.AdvanceBytes("{\"name\":\"x"u8));
        Assert.Empty(state.ForcedBytes());
        var done = Schema("{\"const\":{\"a\":[true]}}").NewState();
        Assert.Equal("{\"a\":[true]}", Encoding.UTF8.GetString(done.ForcedBytes()));
    }

    [Fact]
    public void CloneAndRollbackRestoreEarlierStates()
    {
        var g = Schema("{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}");
        var state = g.NewState();
        Assert.True(state.AdvanceBytes("[1"u8));
        var cp = state.Checkpoint();
        var copy = state.Clone();
        Assert.True(state.AdvanceBytes(",2]"u8));
        Assert.True(state.IsAccepting);
        state.Rollback(cp);
        Assert.False(state.IsAccepting);
        Assert.False(state.AdvanceBytes("}"u8));
        Assert.True(state.AdvanceBytes("]"u8));
        Assert.True(state.IsAccepting);
        Assert.True(copy.AdvanceBytes("3]"u8));
        Assert.True(copy.IsAccepting);
    }

    [Fact]
    public void RejectedBytesLeaveTheStateUnchanged()
    {
        var state = Schema("{\"type\":\"boolean\"}").NewState();
        Assert.True(state.AdvanceBytes("tr"u8));
        Assert.False(state.AdvanceBytes("ux"u8));
        Assert.True(state.AdvanceBytes("ue"u8));
        Assert.True(state.IsAccepting);
    }

    [Fact]
    public void ApplySetsDisallowedLogitsToMinusInfinity()
    {
        var logits = Enumerable.Range(0, 200).Select(i => (float)i).ToArray();
        var mask = new ulong[4];
        mask[0] = 1UL << 5;
        mask[1] = ulong.MaxValue;
        mask[3] = 1UL << 1; // token 193
        MaskOps.Apply(mask, logits);
        for (var i = 0; i < 200; i++)
        {
            var allowed = i == 5 || (i >= 64 && i < 128) || i == 193;
            Assert.Equal(allowed ? i : float.NegativeInfinity, logits[i]);
        }
    }

    [Fact]
    public void JsonModeAcceptsAnyObjectOnly()
    {
        var g = GrammarCompiler.CompileJsonObject(Instance);
        Assert.True(Accepts(g, "{\"a\":[1,{\"b\":null}],\"c\":\"\\u00e9\"}"));
        Assert.False(Accepts(g, "[1]"));
    }

    [Fact]
    public void WhitespaceIsOffByDefaultAndConfigurable()
    {
        Assert.False(Accepts(Schema("{\"type\":\"array\"}"), "[1, 2]"));
        var loose = GrammarCompiler.CompileJsonSchema("{\"type\":\"array\"}", Instance, new Json.JsonSchemaOptions { MaxWhitespace = 2 });
        Assert.True(Accepts(loose, "[1, 2]"));
        Assert.False(Accepts(loose, "[1,    2]"));
    }
}
