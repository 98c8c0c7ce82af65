using System.Globalization;
using System.IO.Compression;
using System.Text;
using Glm.Onnx.Runtime.Text.Unicode;

namespace Glm.Onnx.Tests.Text;

/// <summary>
/// Normalization must work under InvariantGlobalization (where string.Normalize is a no-op): the Unicode
/// conformance file (NormalizationTest.txt, copied in by scripts/gen-unicode-normalization.py) and a tokenizer that
/// declares NFC encoding decomposed input like the reference tokenizer encodes the precomposed text.
/// </summary>
public sealed class UnicodeNormalizationTests
{
    [Fact]
    public void TheFrameworkNormalizeIsANoOpInThisBuild()
    {
        // Documents why UnicodeNormalizer exists: this is a no-op in this repo's build.
        Assert.Equal("e\u0301", "e\u0301".Normalize(NormalizationForm.FormC));
    }

    [Fact]
    public void PassesEveryLineOfTheUnicodeConformanceTest()
    {
        using var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "Text", "NormalizationTest.txt.gz"));
        using var reader = new StreamReader(new GZipStream(file, CompressionMode.Decompress));
        var failures = new List<string>();
        int lines = 0;
        while (reader.ReadLine() is { } line)
        {
            var data = line.Split('#')[0].Trim();
            if (data.Length == 0 || data[0] == '@')
                continue;
            // Columns c1;c2;c3;c4;c5 with NFC(c1..c3)=c2, NFD(c1..c3)=c3, NFC(c4,c5)=c4, NFD(c4,c5)=c5,
            // NFKC(all)=c4, NFKD(all)=c5 (the file's header states these invariants).
            var c = data.Split(';').Take(5).Select(Column).ToArray();
            lines++;
            Check(c[0], NormalizationForm.FormC, c[1]);
            Check(c[1], NormalizationForm.FormC, c[1]);
            Check(c[2], NormalizationForm.FormC, c[1]);
            Check(c[3], NormalizationForm.FormC, c[3]);
            Check(c[4], NormalizationForm.FormC, c[3]);
            Check(c[0], NormalizationForm.FormD, c[2]);
            Check(c[1], NormalizationForm.FormD, c[2]);
            Check(c[2], NormalizationForm.FormD, c[2]);
            Check(c[3], NormalizationForm.FormD, c[4]);
            Check(c[4], NormalizationForm.FormD, c[4]);
            foreach (var source in c)
            {
                Check(source, NormalizationForm.FormKC, c[3]);
                Check(source, NormalizationForm.FormKD, c[4]);
            }

            void Check(string source, NormalizationForm form, string expected)
            {
                var got = UnicodeNormalizer.Normalize(source, form);
                if (got != expected && failures.Count < 20)
                    failures.Add($"{form}({Hex(source)}) = {Hex(got)}, expected {Hex(expected)}");
            }
        }

        Assert.True(lines > 18000, $"only {lines} test lines read");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void LoneSurrogatesAndAsciiPassThrough()
    {
        Assert.Equal("a\uD800b\u00E9", UnicodeNormalizer.Normalize("a\uD800be\u0301", NormalizationForm.FormC));
        const string ascii = "plain ASCII text";
        Assert.Same(ascii, UnicodeNormalizer.Normalize(ascii, NormalizationForm.FormKC));
    }

    [Fact]
    public void NfcTokenizerEncodesDecomposedInputAsTheReferenceEncodesPrecomposedText()
    {
        var tokenizer = FixtureTokenizers.Get("qwen3");
        const string precomposed = "na\u00efve caf\u00e9 r\u00e9sum\u00e9 \u00c5ngstr\u00f6m";
        // The same words typed with combining marks (i + U+0308, e + U+0301, A + U+030A, o + U+0308).
        const string decomposed = "nai\u0308ve cafe\u0301 re\u0301sume\u0301 A\u030Angstro\u0308m";
        var oracle = FixtureTokenizers.OracleCases("qwen3").Single(c => c.Text == precomposed);
        Assert.Equal(oracle.Ids, tokenizer.Encode(decomposed));
        Assert.Equal(oracle.Ids, tokenizer.Encode(precomposed));
    }

    private static string Column(string hex) => string.Concat(hex.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)
        .Select(h => char.ConvertFromUtf32(int.Parse(h, NumberStyles.HexNumber, CultureInfo.InvariantCulture))));

    private static string Hex(string s)
    {
        var points = new List<string>();
        for (int i = 0; i < s.Length; i += char.IsSurrogatePair(s, i) ? 2 : 1)
            points.Add(char.ConvertToUtf32(s, i).ToString("X4", CultureInfo.InvariantCulture));
        return string.Join(' ', points);
    }
}
