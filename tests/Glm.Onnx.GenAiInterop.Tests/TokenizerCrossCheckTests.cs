using System.Text;
using System.Text.Json;
using Glm.Onnx.Checkpoint;
using Glm.Onnx.Runtime.Text;
using GenAi = Microsoft.ML.OnnxRuntimeGenAI;

namespace Glm.Onnx.Tests.GenAiInterop;

/// <summary>
/// Our tokenizer against ONNX Runtime GenAI's (onnxruntime-extensions), on the same tokenizer files: the oracle
/// strings plus inputs that stress added-token matching, normalization, astral characters and whitespace runs.
/// </summary>
public sealed class TokenizerCrossCheckTests
{
    public static TheoryData<string> Names() => new("qwen3", "deepseek_v3", TinyGlm);

    private const string TinyGlm = "tiny-glm";

    private static readonly string[] ExtraTexts =
    [
        "<think>plan the answer</think>The answer is 42.",
        "<tool_call>get_weather<arg_key>city</arg_key><arg_value>Paris</arg_value></tool_call>",
        "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n",
        "<｜begin▁of▁sentence｜><｜User｜>hi<｜Assistant｜>",
        "Cafe\u0301 vs Café: combining accents (NFC)",
        "math letters 𝐀𝐁𝐂 𝒳 and CJK extension B 𠀀𠀁𪚥 mixed with 漢字かなカナ",
        "flags 🇺🇸🇯🇵 family 👨‍👩‍👧‍👦 skin 👋🏿 keycap 1️⃣",
        "\r\n\r\n   \t\t  x  \n\n\n    y\u00A0z\u2028w\u3000v",
        "안녕하세요 세계! مرحبا بالعالم! नमस्ते दुनिया! สวัสดีชาวโลก",
        "1234567890123 12.5e-7 0x1F 1,000,000",
        "DON'T they'LL WE'RE it's I'D",
        "a" + new string('b', 300) + " " + new string(' ', 50) + "end",
        // One 4000-char pre-token: exercises the long-piece merge path.
        string.Concat(Enumerable.Range(0, 500).Select(i => i % 3 == 0 ? "internat" : i % 3 == 1 ? "ionaliza" : "tionwxyz")),
        "def f(x):\r\n\treturn {'k': [1, 2, 3]}  # comment\r\n",
        "",
    ];

    // Prompt-shaped text with GLM control tokens (only the tiny GLM tokenizer knows them as added tokens).
    private static readonly string[] GlmTexts =
    [
        "[gMASK]<sop><|system|>Reasoning Effort: Max<|user|>Hi there<|assistant|><think>",
        "<|assistant|><think></think>Sure.<tool_call>f<arg_key>x</arg_key><arg_value>1</arg_value></tool_call><|observation|><tool_response>ok</tool_response>",
    ];

    [Theory]
    [MemberData(nameof(Names))]
    public void EncodeAndDecodeAgreeWithGenAi(string name)
    {
        using var tinyDir = Fixtures.NewTempDir("tiny-glm");
        TinyGlmTokenizer.Write(tinyDir.Path);
        var fixtureDir = name == TinyGlm ? tinyDir.Path : Fixtures.TokenizerDir(name);
        var ours = GlmTokenizer.Load(fixtureDir);
        using var layout = new GenAiTokenizerDir(fixtureDir, ours.VocabularySize);
        using var theirs = new GenAi.Tokenizer(layout.DirectoryPath);
        theirs.UpdateOptions(new Dictionary<string, string> { ["skip_special_tokens"] = "false" });

        // onnxruntime-extensions ignores tokenizer.json's NFC normalizer, which Hugging Face (and we) apply: GenAI is given
        // the text already in NFC, normalized by ICU (this test project runs with globalization on, unlike the runtime).
        Assert.Equal("\u00E9", "e\u0301".Normalize(NormalizationForm.FormC));
        bool nfc = DeclaresNfc(fixtureDir);
        var failures = new List<string>();
        foreach (var text in OracleTexts(Fixtures.TokenizerDir("qwen3")).Concat(ExtraTexts).Concat(GlmTexts))
        {
            var ourIds = ours.Encode(text);
            using var sequences = theirs.Encode(nfc ? text.Normalize(NormalizationForm.FormC) : text);
            var theirIds = sequences[0].ToArray();
            if (!ourIds.SequenceEqual(theirIds))
                failures.Add($"encode {JsonSerializer.Serialize(text)}: ours [{string.Join(",", ourIds)}] genai [{string.Join(",", theirIds)}]");
            else if (ours.Decode(ourIds) is var ourText && theirs.Decode(theirIds) is var theirText && ourText != theirText)
                failures.Add($"decode {JsonSerializer.Serialize(text)}: ours {JsonSerializer.Serialize(ourText)} genai {JsonSerializer.Serialize(theirText)}");
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    private static bool DeclaresNfc(string dir)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, GlmTokenizer.TokenizerFileName)));
        return doc.RootElement.TryGetProperty("normalizer", out var n) && n.ValueKind == JsonValueKind.Object
            && n.TryGetProperty("type", out var type) && type.GetString() == "NFC";
    }

    private static IEnumerable<string> OracleTexts(string dir)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "oracle_visible.json")));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("text").GetString()!).ToList();
    }
}
