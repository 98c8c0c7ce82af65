using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Glm.Onnx.Runtime.Chat;
using Glm.Onnx.Runtime.Chat.Protocol;
using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Sampling;

namespace Glm.Onnx.RunCli;

/// <summary>
/// <c>glm-run generate --model DIR (--input-ids 1,2,3 | --input-ids @FILE | --prompt TEXT | --prompt-file FILE|-) ...</c>:
/// one generation, streamed.
/// </summary>
public static class GenerateCommand
{
    public static Command Create()
    {
        var model = new ModelArguments();
        var prompt = new Option<string?>("--prompt") { Description = "prompt text (needs the model's tokenizer); raw unless --chat" };
        var promptFile = new Option<string?>("--prompt-file") { Description = "read the prompt text from a file, verbatim ('-' reads stdin); like --prompt" };
        var chat = new Option<bool>("--chat") { Description = "wrap the prompt text as one user turn in the GLM chat format" };
        var noThinking = new Option<bool>("--no-thinking") { Description = "with --chat: answer without a reasoning block" };
        var stopStrings = new Option<string[]>("--stop") { Description = "texts that end generation", AllowMultipleArgumentsPerToken = true };
        var inputIds = new Option<string?>("--input-ids") { Description = "comma-separated prompt token ids, or @FILE: ids separated by whitespace or commas" };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "tokens to generate at most", DefaultValueFactory = _ => 32 };
        var temperature = new Option<float>("--temperature") { Description = "0 = greedy" };
        var topK = new Option<int>("--top-k") { Description = "0 = off" };
        var topP = new Option<float>("--top-p") { Description = "1 = off", DefaultValueFactory = _ => 1f };
        var minP = new Option<float>("--min-p") { Description = "0 = off" };
        var repetition = new Option<float>("--repetition-penalty") { DefaultValueFactory = _ => 1f };
        var presence = new Option<float>("--presence-penalty");
        var frequency = new Option<float>("--frequency-penalty");
        var seed = new Option<ulong?>("--seed");
        var stopIds = new Option<string?>("--stop-token-ids") { Description = "comma-separated ids that end generation" };
        var ignoreEos = new Option<bool>("--ignore-eos") { Description = "keep generating through the model's eos ids" };
        var jsonSchema = new Option<string?>("--json-schema") { Description = "FILE: the output follows this JSON Schema (after a reasoning block, if any)" };
        var grammar = new Option<string?>("--grammar") { Description = "FILE: the output follows this GBNF grammar (llama.cpp syntax; start rule root)" };
        var speculative = new Option<int>("--speculative-tokens") { Description = "K draft tokens per step from the model's MTP layer, verified in one step (0 = off)" };
        var json = new Option<bool>("--json") { Description = "print one JSON object: output_ids, finish_reason, usage and timings" };
        var command = new Command("generate", "Generate tokens from a prompt")
        {
            prompt, promptFile, chat, noThinking, stopStrings, inputIds, maxNew, temperature, topK, topP, minP, repetition, presence, frequency, seed, stopIds, ignoreEos, jsonSchema, grammar, speculative, json,
        };
        model.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            try
            {
                var input = PromptInput.Read(parse.GetValue(inputIds), parse.GetValue(prompt), parse.GetValue(promptFile), () => Console.In);
                if (parse.GetValue(chat) && input?.Text is null)
                    throw new ArgumentException("--chat wraps the prompt text: give --prompt or --prompt-file.");
                using var loaded = model.Load(parse);
                int[] ids;
                if (input?.Text is { } promptText)
                {
                    var tokenizer = loaded.RequireTokenizer();
                    // With --chat the prompt is a user message: its text stays text, as in chat and serve.
                    ids = parse.GetValue(chat)
                        ? GlmChatFormatter.Render([ChatMessage.User(promptText)], null,
                            GlmChatFormatOptions.Default with { EnableThinking = !parse.GetValue(noThinking) }).Encode(tokenizer)
                        : tokenizer.Encode(promptText, addSpecialTokens: false);
                    if (ids.Length == 0)
                        throw new ArgumentException("the prompt encodes to no tokens.");
                }
                else
                    ids = input?.Ids ?? [loaded.Manifest.Generation.BosTokenId ?? 0];
                var request = new GenerationRequest(ids)
                {
                    MaxNewTokens = parse.GetValue(maxNew),
                    IgnoreEos = parse.GetValue(ignoreEos),
                    StopTokenIds = parse.GetValue(stopIds) is { } stops ? ModelArguments.ParseIds(stops, "--stop-token-ids") : [],
                    StopStrings = parse.GetValue(stopStrings) ?? [],
                    Sampling = new SamplingOptions(parse.GetValue(temperature), parse.GetValue(topK), parse.GetValue(topP), parse.GetValue(minP),
                        parse.GetValue(repetition), parse.GetValue(presence), parse.GetValue(frequency), parse.GetValue(seed)),
                    Constraint = ConstraintArguments.Read(parse.GetValue(jsonSchema), parse.GetValue(grammar), loaded.Tokenizer, ids),
                    SpeculativeTokens = parse.GetValue(speculative),
                };
                using var engine = loaded.CreateEngine();
                bool streamText = loaded.Tokenizer is not null; // text when the model has a tokenizer, else ids
                var output = new List<int>();
                GeneratedToken? last = null;
                bool asJson = parse.GetValue(json);
                await foreach (var token in engine.GenerateAsync(request, ct))
                {
                    output.Add(token.TokenId);
                    last = token;
                    if (!asJson && streamText)
                        Console.Out.Write(token.TextDelta);
                    else if (!asJson)
                        Console.Out.Write(output.Count == 1 ? token.TokenId.ToString(CultureInfo.InvariantCulture) : " " + token.TokenId.ToString(CultureInfo.InvariantCulture));
                }
                var usage = last!.Usage!;
                if (asJson)
                {
                    var result = new
                    {
                        output_ids = output,
                        finish_reason = FinishReasons.Text(last.FinishReason!.Value),
                        prompt_tokens = usage.PromptTokens,
                        completion_tokens = usage.CompletionTokens,
                        time_to_first_token_ms = usage.TimeToFirstToken.TotalMilliseconds,
                        prefill_tokens_per_second = usage.PrefillTokensPerSecond,
                        decode_tokens_per_second = usage.DecodeTokensPerSecond,
                        mask_ms = usage.MaskTime.TotalMilliseconds,
                        forced_tokens = usage.ForcedTokens,
                        jump_forward_tokens = usage.JumpForwardTokens,
                        speculative_decoding = usage.Speculation is { } speculation ? SpeculationJson.Node(speculation) : null,
                    };
                    Console.Out.WriteLine(JsonSerializer.Serialize(result));
                }
                else
                {
                    Console.Out.WriteLine();
                    Console.Error.WriteLine(
                        $"finish: {last.FinishReason}, {usage.PromptTokens} prompt + {usage.CompletionTokens} generated tokens, " +
                        $"prefill {usage.PrefillTokensPerSecond:F1} tok/s, decode {usage.DecodeTokensPerSecond:F1} tok/s" +
                        (request.Constraint is null ? "" : $", grammar masks {usage.MaskTime.TotalMilliseconds:F1} ms, {usage.ForcedTokens} forced tokens, {usage.JumpForwardTokens} jump-forward tokens") +
                        (usage.Speculation is not { } spec ? "" : $", speculative: {spec.AcceptedTokens}/{spec.DraftTokens} drafts accepted, {spec.MeanAcceptedLength:F2} tokens per verify step"));
                }
                return 0;
            }
            catch (Exception e) when (CliErrors.IsExpected(e))
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 2;
            }
        });
        return command;
    }
}
