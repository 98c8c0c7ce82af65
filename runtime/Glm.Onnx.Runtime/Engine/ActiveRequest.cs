using System.Diagnostics;
using System.Threading.Channels;
using Glm.Onnx.Runtime.Sampling;
using Glm.Onnx.Runtime.Scheduling;

namespace Glm.Onnx.Runtime.Engine;

/// <summary>The engine thread's bookkeeping for one submitted request.</summary>
internal sealed class ActiveRequest
{
    private readonly Channel<GeneratedToken> _channel =
        Channel.CreateUnbounded<GeneratedToken>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ActiveRequest(long id, GenerationRequest request, int maxNewTokens, ITokenDecoder? decoder)
    {
        Request = request;
        MaxNewTokens = maxNewTokens;
        var prompt = request.PromptIds.ToArray();
        Sequence = new Sequence(id, prompt);
        Sampling = new SamplingState(request.Sampling, prompt);
        Text = decoder?.CreateStream();
        Stops = request.StopStrings.Count > 0 ? new StopStringMatcher(request.StopStrings) : null;
        StopTokenIds = [.. request.StopTokenIds];
        SubmittedAt = Stopwatch.GetTimestamp();
    }

    public GenerationRequest Request { get; }

    public int MaxNewTokens { get; }

    public Sequence Sequence { get; }

    public SamplingState Sampling { get; }

    public ITokenTextStream? Text { get; }

    public StopStringMatcher? Stops { get; }

    public HashSet<int> StopTokenIds { get; }

    public long SubmittedAt { get; }

    public long FirstTokenAt { get; set; }

    /// <summary>Prompt rows whose logits were already collected (survives preemption and recompute).</summary>
    public int PromptLogitsCollected { get; set; }

    public float[]? PromptLogits { get; set; }

    public ChannelReader<GeneratedToken> Reader => _channel.Reader;

    public ChannelWriter<GeneratedToken> Writer => _channel.Writer;

    /// <summary>Completes once the request's blocks are back in the allocator (finished, failed or cancelled).</summary>
    public Task Released => _released.Task;

    public void MarkReleased() => _released.TrySetResult();
}
