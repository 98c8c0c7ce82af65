using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Scheduling;
using Glm.Onnx.Runtime.Telemetry;

namespace Glm.Onnx.Runtime.ChatClient;

/// <summary>
/// A model loaded for chat: the <see cref="GlmModel"/>, its engine (decoding with the model's tokenizer) and the chat
/// generator. Owns the model and the engine; disposing stops the engine before the model is released.
/// </summary>
public sealed class LoadedChatModel : IDisposable
{
    private LoadedChatModel(GlmModel model, GenerationEngine engine, GlmChatGenerator generator)
    {
        Model = model;
        Engine = engine;
        Generator = generator;
    }

    public GlmModel Model { get; }

    public GenerationEngine Engine { get; }

    public GlmChatGenerator Generator { get; }

    public static LoadedChatModel Load(string directory, GlmModelOptions? options = null, SchedulerOptions? scheduling = null,
        EngineTelemetryOptions? telemetry = null) =>
        From(GlmModel.Load(directory, options), scheduling, telemetry);

    /// <summary>Takes ownership of an already loaded model.</summary>
    public static LoadedChatModel From(GlmModel model, SchedulerOptions? scheduling = null, EngineTelemetryOptions? telemetry = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        GenerationEngine? engine = null;
        try
        {
            var tokenizer = model.RequireTokenizer();
            engine = model.CreateEngine(scheduling, telemetry: telemetry);
            return new LoadedChatModel(model, engine, new GlmChatGenerator(engine, tokenizer));
        }
        catch
        {
            engine?.Dispose();
            model.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Engine.Dispose();
        Model.Dispose();
    }
}
