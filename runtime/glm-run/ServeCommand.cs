using System.CommandLine;
using Glm.Onnx.Runtime.ChatClient;
using Glm.Onnx.Runtime.Telemetry;
using Glm.Onnx.Server;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Glm.Onnx.RunCli;

/// <summary>
/// <c>glm-run serve --model DIR [--urls URL...] [--api-key KEY]</c>: the OpenAI-compatible HTTP server. It listens
/// before the model loads, so probes see "loading" (docs/deploy.md); the "listening on" line is printed once the
/// model serves. Logs go to stderr (text, or JSON lines with --log-format json).
/// </summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var model = new ModelArguments();
        var urls = new Option<string[]>("--urls") { Description = $"listen addresses (default {GlmServerOptions.DefaultUrl}; port 0 picks a free port)", AllowMultipleArgumentsPerToken = true };
        var apiKey = new Option<string?>("--api-key") { Description = "require 'Authorization: Bearer KEY' on /v1 (default: the GLM_API_KEY environment variable, if set)" };
        var modelId = new Option<string?>("--model-id") { Description = "the model id clients send (default: the model directory's name)" };
        var maxTokens = new Option<int>("--default-max-tokens") { Description = "chat completion tokens when a request gives no max_tokens", DefaultValueFactory = _ => 1024 };
        var speculative = new Option<int>("--speculative-tokens") { Description = "draft tokens per decode step from the model's MTP layer (0 = off); requests may lower it with speculative_tokens" };
        var compileTimeout = new Option<double>("--grammar-compile-timeout") { Description = "seconds a request's JSON Schema, GBNF or tool-call grammar may take to compile (a 400 past it)", DefaultValueFactory = _ => 10 };
        var logFormat = new Option<string>("--log-format") { Description = "text or json (one JSON object per line), on stderr", DefaultValueFactory = _ => "text" };
        logFormat.AcceptOnlyFromAmong("text", "json");
        var command = new Command("serve", "Serve the model over an OpenAI-compatible HTTP API") { urls, apiKey, modelId, maxTokens, speculative, compileTimeout, logFormat };
        model.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            try
            {
                // An explicit --api-key "" is refused (GlmServerOptions.Validate), never read as "no authentication";
                // an empty GLM_API_KEY counts as unset, as environment variables usually do.
                var key = parse.GetValue(apiKey) ?? (Environment.GetEnvironmentVariable("GLM_API_KEY") is { Length: > 0 } env ? env : null);
                var listen = parse.GetValue(urls) is { Length: > 0 } given ? given : [GlmServerOptions.DefaultUrl];
                var id = parse.GetValue(modelId) ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(parse.GetValue(model.Model)!)));
                var options = new GlmServerOptions(id, listen, key, parse.GetValue(maxTokens)) 
                {
                    SpeculativeTokens = parse.GetValue(speculative),
                    GrammarCompileTimeout = parse.GetValue(compileTimeout) is var seconds && double.IsFinite(seconds) && seconds > 0 && seconds <= 3600
                        ? TimeSpan.FromSeconds(seconds)
                        : throw new ArgumentException($"--grammar-compile-timeout must be in (0, 3600] seconds, got {seconds}."),
                };
                options.Validate(); // bad URLs or key: one line now, not after loading the model
                if (!GlmServer.IsLoopbackOnly(listen) && key is null)
                    Console.Error.WriteLine("warning: listening beyond loopback without an API key: anyone who can reach this port can use the model.");
                var served = new ServedModel();
                var (app, addresses) = await GlmServer.StartAsync(served, options, ServeLogging.Configure(parse.GetValue(logFormat)!), ct);
                await using (app)
                {
                    var logs = app.Services.GetRequiredService<ILoggerFactory>();
                    var log = logs.CreateLogger("glm-run.serve");
                    LoadedChatModel loaded;
                    try
                    {
                        ServeLogging.Loading(log, id, addresses);
                        var telemetry = new EngineTelemetryOptions(id, Logger: logs.CreateLogger(GlmServiceCollectionExtensions.EngineLogCategory));
                        // Off the request threads: probes keep answering "loading" while sessions are created.
                        loaded = await Task.Run(() => LoadedChatModel.From(model.Load(parse), telemetry: telemetry), ct);
                        if (options.SpeculativeTokens > 0 && loaded.Generator.Engine.Drafter is null)
                        {
                            loaded.Dispose();
                            throw new ArgumentException(
                                $"--speculative-tokens {options.SpeculativeTokens}: this model has no MTP stage to draft with (glm-model.json has no mtp_stage).");
                        }
                    }
                    catch (Exception e)
                    {
                        served.SetFailed(e.Message);
                        throw;
                    }
                    using (loaded)
                    {
                        served.SetReady(loaded.Generator);
                        ServeLogging.Banner(log, id, loaded.Model, parse.GetValue(model.Device), parse.GetValue(model.Threads));
                        // Tests and scripts read this line to find the port when they pass port 0.
                        Console.Out.WriteLine($"glm-run serve: model '{id}' listening on {string.Join(", ", addresses)}");
                        Console.Out.Flush();
                        await app.WaitForShutdownAsync(ct);
                    }
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
