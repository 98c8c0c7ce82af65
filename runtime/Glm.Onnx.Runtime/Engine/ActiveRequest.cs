using System.Threading.Channels;
using Glm.Onnx.Runtime.Sampling;
using Glm.Onnx.Runtime.Scheduling;

namespace Glm.Onnx.Runtime.Engine;

/// <summary>The engine thread's bookkeeping for one submitted request.</summary>
internal sealed class ActiveRequest
{
    private readonly Channel<GeneratedToken> _channel =
        Channel.CreateUnbounded<GeneratedToken>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly List<TokenDistribution> _draftDistributions = new();
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ActiveRequest(long id, GenerationRequest request, int maxNewTokens, IEnumerable<int> eosTokenIds, ITokenDecoder? decoder)
    {
        Request = request;
        MaxNewTokens = maxNewTokens;
        Sequence = new Sequence(id, request.PromptIds.ToArray());
        Emitter = new TokenEmitter(Sequence, request, maxNewTokens, eosTokenIds, decoder);
    }

    public GenerationRequest Request { get; }

    /// <summary>The request's token limit, capped by the model and the cache.</summary>
    public int MaxNewTokens { get; }

    public Sequence Sequence { get; }

    /// <summary>The per-token steps from a logits row to a streamed token.</summary>
    public TokenEmitter Emitter { get; }

    /// <summary>When the request was first scheduled (a Stopwatch timestamp; 0 while it waits): its queue time ends there.</summary>
    public long ScheduledAt { get; set; }

    /// <summary>Prompt rows whose logits were already collected (survives preemption and recompute).</summary>
    public int PromptLogitsCollected { get; set; }

    public float[]? PromptLogits { get; set; }

    public ChannelReader<GeneratedToken> Reader => _channel.Reader;

    /// <summary>
    /// The draft distributions q of this request's verify steps, reused step to step (a dense row per draft position
    /// is too large to allocate per step at a real vocabulary).
    /// </summary>
    public IReadOnlyList<TokenDistribution> DraftDistributions(int count)
    {
        while (_draftDistributions.Count < count)
            _draftDistributions.Add(new TokenDistribution());
        return _draftDistributions.GetRange(0, count);
    }

    /// <summary>Completes once the request's blocks are back in the allocator (finished, failed or cancelled).</summary>
    public Task Released => _released.Task;

    /// <summary>Streams one token to the caller, with the logits the request asked for.</summary>
    public void Publish(TokenOutcome outcome, ReadOnlySpan<float> row) =>
        _channel.Writer.TryWrite(new GeneratedToken(outcome.TokenId, outcome.Text, outcome.FinishReason, outcome.Usage)
        {
            Logits = Request.ReturnLogits ? row.ToArray() : null,
            PromptLogits = outcome.IsFirst ? PromptLogits : null,
        });

    /// <summary>Ends the caller's stream: normally (null) or with the error the caller sees.</summary>
    public void Close(Exception? error) => _channel.Writer.TryComplete(error);

    public void MarkReleased() => _released.TrySetResult();
}
