using System.Diagnostics;
using System.Text;
using Glm.Onnx.Runtime.Text;

// Encodes 1 MB and 2 MB of mixed text (English words, code, numbers, CJK, emoji, newlines) with each tokenizer
// and prints the median of several runs, tokens/s and the 2 MB / 1 MB time ratio (2.0 means linear). A second
// table does the same for one long run of letters (a single pre-token), the worst case for BPE merging.
var tokenizerDirs = args.Length > 0 ? args : DefaultDirs();
const int Runs = 5;

foreach (var dir in tokenizerDirs)
{
    var load = Stopwatch.StartNew();
    var tokenizer = GlmTokenizer.Load(dir);
    Console.WriteLine($"tokenizer {dir} (vocabulary {tokenizer.VocabularySize}, loaded in {load.Elapsed.TotalMilliseconds:F0} ms)");

    tokenizer.Encode(MixedText(256 * 1024, seed: 7)); // warm-up: JIT, regex compilation, BPE cache
    Report(tokenizer, "mixed text", size => MixedText(size, seed: 1), [1 << 20, 2 << 20]);
    Report(tokenizer, "one 'word' (no spaces)", size => new string('a', size / 2) + new string('b', size / 2), [64 << 10, 128 << 10]);
}

static void Report(GlmTokenizer tokenizer, string label, Func<int, string> make, int[] sizes)
{
    var medians = new List<double>();
    foreach (var size in sizes)
    {
        var text = make(size);
        var times = new List<double>();
        var tokens = 0;
        for (var run = 0; run < Runs; run++)
        {
            var sw = Stopwatch.StartNew();
            tokens = tokenizer.Encode(text).Length;
            times.Add(sw.Elapsed.TotalSeconds);
        }

        times.Sort();
        var median = times[Runs / 2];
        medians.Add(median);
        Console.WriteLine($"  {label,-24} {size / 1024,6} KiB  {tokens,8} tokens  median {median * 1000,8:F1} ms  " +
                          $"{tokens / median / 1e6,6:F2} M tokens/s  {size / median / (1 << 20),6:F2} MiB/s");
    }

    Console.WriteLine($"  {label,-24} time ratio {sizes[1] / 1024} KiB / {sizes[0] / 1024} KiB = {medians[1] / medians[0]:F2} (2.00 = linear)");
}

static string[] DefaultDirs()
{
    var shared = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../../../shared/fixtures/tokenizers"));
    return [Path.Combine(shared, "qwen3"), Path.Combine(shared, "deepseek_v3")];
}

static string MixedText(int chars, int seed)
{
    string[] words =
    [
        "the", "model", "tokenizer", "attention", "expert", "routing", "cache", "sequence", "of", "and", "is",
        "to", "in", "that", "for", "with", "on", "parallel", "compute", "Hello", "World", "GLM", "latent",
        "naïve", "café", "résumé", "数据", "模型", "推理", "こんにちは", "🙂", "🚀", "x**2", "f(x)", "{\"k\": 1}",
        "3.14159", "2048", "-42", "1e-5", "don't", "it's", "URL", "https://example.com/a?b=c",
    ];
    var random = new Random(seed);
    var sb = new StringBuilder(chars + 64);
    while (sb.Length < chars)
    {
        sb.Append(words[random.Next(words.Length)]);
        var r = random.Next(20);
        sb.Append(r switch { 0 => ".\n", 1 => ", ", 2 => "\n\n", 3 => "    ", 4 => "\t", _ => " " });
    }

    sb.Length = chars;
    if (char.IsHighSurrogate(sb[^1]))
        sb.Length--;
    return sb.ToString();
}
