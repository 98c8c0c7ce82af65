using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Glm.Onnx.Runtime.Cache;
using Glm.Onnx.Runtime.Drafting;
using Glm.Onnx.Runtime.Execution;
using Glm.Onnx.Runtime.Sampling;
using Glm.Onnx.Runtime.Scheduling;
using Glm.Onnx.Runtime.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Glm.Onnx.Runtime.Engine;

/// <summary>
/// Serves many concurrent generation requests through one model executor. One background thread drives the steps
/// (schedule, forward, sample, stop checks, free blocks); callers get their tokens from a channel through
/// <see cref="GenerateAsync"/>. The executor is borrowed, not owned. The engine reports load, cache use, token counts
/// and latencies on the <see cref="GlmMetrics.MeterName"/> meter, logs one line per request, and tells through
/// <see cref="Health"/> whether its steps are producing tokens.
/// </summary>
public sealed class GenerationEngine : IDisposable
{
    private readonly IModelExecutor _executor;
    private readonly ModelExecutorInfo _info;
    private readonly BlockAllocator _allocator;
    private readonly Scheduler _scheduler;
    private readonly Sampler _sampler = new();
    private readonly ITokenDecoder? _decoder;
    private readonly IDrafter? _drafter;
    private readonly int[] _eos;
    private readonly ConcurrentQueue<ActiveRequest> _incoming = new();
    private readonly ConcurrentQueue<ActiveRequest> _cancellations = new();
    private readonly Dictionary<long, ActiveRequest> _active = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Thread _thread;
    private readonly EngineCounters _counters;
    private readonly EngineMetrics _metrics;
    private readonly ILogger _log;
    private readonly int _failedStepsBeforeUnhealthy;
    private long _nextId;
    private long _steps;
    private long _maskTicks;
    private long _forwardTicks;
    private long _reusedTokens;
    private int _consecutiveFailedSteps;
    private volatile string? _lastProblem;
    private volatile Exception? _fault;
    private volatile bool _stopping;

    /// <param name="executor">The model (borrowed).</param>
    /// <param name="scheduling">Step limits and prefix caching.</param>
    /// <param name="decoder">Turns ids into text (stop strings, text deltas), or null.</param>
    /// <param name="telemetry">Metrics name, logger, health threshold.</param>
    /// <param name="drafter">
    /// Proposes draft tokens for requests with <see cref="GenerationRequest.SpeculativeTokens"/> &gt; 0; null uses the
    /// model's MTP layer when the executor has one (<see cref="MtpDrafter"/>), else speculation is refused.
    /// </param>
    public GenerationEngine(IModelExecutor executor, SchedulerOptions? scheduling = null, ITokenDecoder? decoder = null,
        EngineTelemetryOptions? telemetry = null, IDrafter? drafter = null)
    {
        ArgumentNullException.ThrowIfNull(executor);
        telemetry ??= new EngineTelemetryOptions();
        telemetry.Validate();
        _executor = executor;
        _info = executor.Info;
        _info.Validate();
        _allocator = new BlockAllocator(_info.NumBlocks, _info.BlockSize, _info.BlockOrder);
        _scheduler = new Scheduler(_allocator, scheduling ?? new SchedulerOptions());
        _decoder = decoder;
        _drafter = drafter ?? (_info.HasDraftStage && _info.HiddenSize > 0 ? new MtpDrafter(executor) : null);
        _eos = [.. _info.EosTokenIds];
        _counters = new EngineCounters(_allocator.NumBlocks) { FreeBlocks = _allocator.FreeBlockCount };
        _metrics = new EngineMetrics(_counters, telemetry.ModelName);
        _log = telemetry.Logger ?? NullLogger.Instance;
        _failedStepsBeforeUnhealthy = telemetry.FailedStepsBeforeUnhealthy;
        _thread = new Thread(Run) { IsBackground = true, Name = "glm-engine-steps" };
        _thread.Start();
    }

    public ModelExecutorInfo ModelInfo => _info;

    /// <summary>The block allocator; read it only while no request is in flight (the step thread owns it).</summary>
    public BlockAllocator Allocator => _allocator;

    /// <summary>Free blocks as of the last change the step thread published.</summary>
    public int FreeBlockCount => Volatile.Read(ref _counters.FreeBlocks);

    /// <summary>Requests in the running batch, as of the last change the step thread published.</summary>
    public int RunningRequestCount => Volatile.Read(ref _counters.Running);

    /// <summary>Requests submitted but not running (queued, or preempted and waiting to be recomputed).</summary>
    public int WaitingRequestCount => _counters.WaitingNow;

    /// <summary>Tokens generated since the engine started.</summary>
    public long GeneratedTokenCount => Volatile.Read(ref _counters.GenerationTokens);

    public long StepCount => Interlocked.Read(ref _steps);

    /// <summary>
    /// Speculative decoding's counters over every request of this engine (docs/speculative.md): the step thread
    /// records each sequence's verify step here; readers take <see cref="SpeculationStats.Snapshot"/>. Reported in
    /// the metrics and by <c>glm-run bench</c>.
    /// </summary>
    public SpeculationStats Speculation => _counters.Speculation;

    /// <summary>Wall time the step thread spent computing grammar masks (all constrained sequences of a step at once).</summary>
    public TimeSpan MaskTime => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _maskTicks));

    /// <summary>
    /// Wall time the step thread spent in the executor's main forward passes (binding, the runtime's Run, its outputs);
    /// with <see cref="IModelExecutor.RunTime"/> it splits a step into the graph, the binding around it and the engine's
    /// own work (scheduling, sampling, emitting).
    /// </summary>
    public TimeSpan ForwardTime => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _forwardTicks));

    /// <summary>Prompt tokens served from the prefix cache since the engine started.</summary>
    public long ReusedPromptTokens => Interlocked.Read(ref _reusedTokens);

    public long PreemptionCount => Volatile.Read(ref _counters.Preemptions);

    /// <summary>
    /// Whether generation works: faulted once the step loop has stopped on an unexpected error, failing while the last
    /// <see cref="EngineTelemetryOptions.FailedStepsBeforeUnhealthy"/> steps all failed (executor errors, NaN
    /// logits), healthy otherwise. Safe to read from any thread.
    /// </summary>
    public EngineHealth Health =>
        _fault is { } fault ? new EngineHealth(EngineHealthStatus.Faulted, fault.Message)
        : Volatile.Read(ref _consecutiveFailedSteps) >= _failedStepsBeforeUnhealthy ? new EngineHealth(EngineHealthStatus.Failing, _lastProblem)
        : new EngineHealth(EngineHealthStatus.Healthy, null);

    /// <summary>Most tokens one sequence may hold (prompt + output): the model's maximum length or the cache capacity.</summary>
    public int MaxSequenceTokens => Math.Min(_info.MaxSequenceLength, _scheduler.CapacityTokens);

    /// <summary>What drafts for speculative requests (null: the engine refuses them).</summary>
    public IDrafter? Drafter => _drafter;

    /// <summary>The token decoder text deltas come from (null: the engine streams ids only).</summary>
    public ITokenDecoder? Decoder => _decoder;

    /// <summary>
    /// Generates tokens for one request, streaming each as it is sampled. Cancelling (or abandoning the enumeration)
    /// removes the request and returns its cache blocks before the enumeration ends.
    /// </summary>
    public async IAsyncEnumerable<GeneratedToken> GenerateAsync(
        GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var active = Submit(request);
        try
        {
            await foreach (var token in active.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                yield return token;
        }
        finally
        {
            if (!active.Released.IsCompleted)
            {
                _cancellations.Enqueue(active);
                _wake.Release();
                await active.Released.ConfigureAwait(false);
            }
        }
    }

    /// <summary>The logits of every prompt position, row-major [prompt, vocab], through the normal prefill path.</summary>
    public async Task<float[]> ComputePromptLogitsAsync(IReadOnlyList<int> promptIds, CancellationToken cancellationToken = default)
    {
        var request = new GenerationRequest(promptIds) { MaxNewTokens = 1, IgnoreEos = true, ReturnPromptLogits = true };
        await foreach (var token in GenerateAsync(request, cancellationToken).ConfigureAwait(false))
            if (token.PromptLogits is { } logits)
                return logits;
        throw new InvalidOperationException("The engine finished the request without prompt logits.");
    }

    public void Dispose()
    {
        if (_stopping)
            return;
        _stopping = true;
        _wake.Release();
        _thread.Join();
        // The step thread has stopped: no block can be in use by a step any more, so the streams just end.
        var error = new ObjectDisposedException(nameof(GenerationEngine));
        foreach (var active in _active.Values)
            Abandon(active, error);
        _active.Clear();
        while (_incoming.TryDequeue(out var pending))
        {
            Interlocked.Decrement(ref _counters.Incoming);
            Abandon(pending, error);
        }
        _wake.Dispose();
        _metrics.Dispose();
    }

    private ActiveRequest Submit(GenerationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(_stopping, this);
        if (_fault is { } fault)
            throw new InvalidOperationException($"The generation engine stopped after an internal error: {fault.Message}", fault);
        if (request.PromptIds is null || request.PromptIds.Count == 0)
            throw new ArgumentException("The request has no prompt tokens.", nameof(request));
        foreach (var id in request.PromptIds)
            if ((uint)id >= (uint)_info.VocabSize)
                throw new ArgumentException($"Prompt token id {id} is outside the vocabulary [0, {_info.VocabSize}).", nameof(request));
        if (request.MaxNewTokens <= 0)
            throw new ArgumentException($"MaxNewTokens must be positive, got {request.MaxNewTokens}.", nameof(request));
        if (request.StopStrings.Count > 0 && _decoder is null)
            throw new ArgumentException("Stop strings need a token decoder, and this engine has none.", nameof(request));
        request.Sampling.Validate();
        CheckSpeculation(request);

        int prompt = request.PromptIds.Count;
        int limit = Math.Min(_info.MaxSequenceLength, _scheduler.CapacityTokens);
        if (prompt >= limit)
            throw new ArgumentException(
                $"The prompt has {prompt} tokens, leaving no room to generate: the model accepts {_info.MaxSequenceLength} " +
                $"tokens and the KV cache holds {_scheduler.CapacityTokens}.", nameof(request));
        var active = new ActiveRequest(Interlocked.Increment(ref _nextId), request, Math.Min(request.MaxNewTokens, limit - prompt), _eos, _decoder);
        if (request.SpeculativeTokens > 0 && _drafter!.UsesDraftCache)
            active.Sequence.TrackDraftCache();
        UpdateDraftLimit(active);
        Interlocked.Increment(ref _counters.Incoming);
        _incoming.Enqueue(active);
        _wake.Release();
        if (_fault is { } late)
            AbandonIncoming(late); // the loop faulted after the check above and will not drain the queue
        return active;
    }

    private void CheckSpeculation(GenerationRequest request)
    {
        int k = request.SpeculativeTokens;
        if (k < 0 || k > GenerationRequest.MaxSpeculativeTokens)
            throw new ArgumentException(
                $"SpeculativeTokens must be in [0, {GenerationRequest.MaxSpeculativeTokens}] (0 = off), got {k}.", nameof(request));
        if (k == 0)
            return;
        if (_drafter is null)
            throw new ArgumentException(
                $"SpeculativeTokens is {k}, but this model has no MTP stage to draft with (glm-model.json has no mtp_stage; " +
                "convert a checkpoint with num_nextn_predict_layers 1, e.g. from glm-convert synth --mtp-layers 1).", nameof(request));
    }

    // Drafts never reach past the request's token limit: a verify step emits at most drafts + 1 tokens.
    private static void UpdateDraftLimit(ActiveRequest active)
    {
        int k = active.Request.SpeculativeTokens;
        active.Sequence.DraftLimit = k == 0 ? 0 : Math.Clamp(active.MaxNewTokens - active.Sequence.OutputLength - 1, 0, k);
    }

    private void Run()
    {
        try
        {
            RunSteps();
        }
        catch (Exception error)
        {
            // A bug outside any one request's path (scheduler, block bookkeeping): the cache state can no longer be
            // trusted, so every request ends with the error and the engine refuses new ones (Health says Faulted).
            _fault = error;
            EngineLog.LoopFaulted(_log, error.Message, error);
            foreach (var active in _active.Values)
                Abandon(active, error);
            _active.Clear();
            AbandonIncoming(error);
        }
    }

    private void AbandonIncoming(Exception error)
    {
        while (_incoming.TryDequeue(out var pending))
        {
            Interlocked.Decrement(ref _counters.Incoming);
            Abandon(pending, error);
        }
    }

    private void RunSteps()
    {
        while (!_stopping)
        {
            AdmitIncoming();
            ReleaseCancelled();
            PublishLoad();

            var step = _scheduler.Schedule();
            PublishLoad();
            if (step is null)
            {
                _wake.Wait();
                continue;
            }
            RunStep(step);
            PublishLoad();
        }
    }

    // AdmitIncoming and ReleaseCancelled are methods of their own, not loops inside RunSteps, which never returns:
    // unoptimized (tier-0) code reports a method's stack temporaries to the GC until they are overwritten, so a request
    // handled in RunSteps' own frame could stay reachable (with its grammar state) until another request took the same
    // path; a returned frame holds nothing.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void AdmitIncoming()
    {
        while (_incoming.TryDequeue(out var incoming))
        {
            Interlocked.Decrement(ref _counters.Incoming);
            _active[incoming.Sequence.Id] = incoming;
            _scheduler.Add(incoming.Sequence);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReleaseCancelled()
    {
        while (_cancellations.TryDequeue(out var cancelled))
            if (_active.ContainsKey(cancelled.Sequence.Id))
                Release(cancelled, new OperationCanceledException("The generation request was cancelled."));
    }

    private void RunStep(ScheduledStep step)
    {
        StepPlan plan;
        LogitsBuffer logits;
        DraftWork?[]? drafts;
        MarkScheduled(step);
        try
        {
            drafts = RunDrafter(step);
            plan = StepPlan.Build(step, s => _active[s.Id], drafts?.Select(d => d?.Tokens).ToArray());
            long forwardStart = Stopwatch.GetTimestamp();
            logits = _executor.Forward(plan.Batch);
            Interlocked.Add(ref _forwardTicks, Stopwatch.GetTimestamp() - forwardStart);
            if (logits.Rows != plan.Batch.LogitsCount || logits.Vocab != _info.VocabSize)
                throw new InvalidOperationException(
                    $"The model executor returned logits [{logits.Rows}, {logits.Vocab}], expected [{plan.Batch.LogitsCount}, {_info.VocabSize}].");
        }
        catch (Exception error)
        {
            // The cache rows of this step are in an unknown state: fail every request that took part.
            StepFailed(step, error);
            foreach (var chunk in step.Chunks)
                if (_active.TryGetValue(chunk.Sequence.Id, out var failed))
                    Release(failed, error);
            return;
        }
        Interlocked.Increment(ref _steps);
        _scheduler.Complete(step);
        Exception? stepError = null;

        PrepareMasks(step, plan);
        for (int b = 0; b < step.Chunks.Count; b++)
        {
            var sequence = step.Chunks[b].Sequence;
            if (!_active.TryGetValue(sequence.Id, out var active))
                continue;
            var chunk = step.Chunks[b];
            try
            {
                if (plan.PromptRowCount[b] > 0)
                    CollectPromptLogits(active, logits, plan.PromptRowStart[b], plan.PromptPositionStart[b], plan.PromptRowCount[b]);
                if (chunk.Drafts > 0)
                    Verify(active, chunk, logits, plan.SamplingRow[b], drafts![b]!);
                else
                {
                    // Before emitting: the last token may end the request, and its blocks with it.
                    if (plan.HiddenRowStart[b] >= 0)
                        _drafter!.Observe(sequence, chunk.Start, logits, plan.HiddenRowStart[b], chunk.Count);
                    if (plan.SamplingRow[b] >= 0)
                        Emit(active, logits.Row(plan.SamplingRow[b]), active.Emitter.Sample(_sampler, logits.Row(plan.SamplingRow[b])));
                }
                if (_active.ContainsKey(sequence.Id))
                    UpdateDraftLimit(active);
            }
            catch (Exception error)
            {
                // A grammar dead end is the request's input at fault: it fails that request, not the engine's health.
                if (error is not Constraints.GrammarDeadEndException)
                    stepError ??= error;
                Release(active, error);
            }
        }
        if (stepError is not null)
            StepFailed(step, stepError);
        else
            Volatile.Write(ref _consecutiveFailedSteps, 0);
        Volatile.Write(ref _counters.Preemptions, _scheduler.PreemptionCount);
        Volatile.Write(ref _counters.PrefixQueriedTokens, _scheduler.PrefixQueriedTokens);
        Volatile.Write(ref _counters.PrefixHitTokens, _scheduler.PrefixHitTokens);
    }

    /// <summary>
    /// Asks the drafter for this step's drafts (the scheduler has allocated their blocks) and lets it bring the draft
    /// cache of every sequence in the step up to date; then registers the blocks whose draft rows are now written.
    /// Per chunk, its drafts or null.
    /// </summary>
    private DraftWork?[]? RunDrafter(ScheduledStep step)
    {
        if (_drafter is null)
            return null;
        var chunks = step.Chunks;
        List<DraftWork>? work = null;
        var index = new int[chunks.Count];
        for (int b = 0; b < chunks.Count; b++)
        {
            index[b] = -1;
            var chunk = chunks[b];
            if (chunk.Drafts == 0 && !chunk.Sequence.TracksDraftCache)
                continue;
            index[b] = (work ??= []).Count;
            var active = _active[chunk.Sequence.Id];
            var emitter = active.Emitter;
            // Drafts are drawn under the request's own sampling options (greedy: the argmax), each with its q kept
            // for the verifier's acceptance rule.
            work.Add(new DraftWork(chunk.Sequence, active.Request, chunk.Drafts, _info.VocabSize, active.DraftDistributions(chunk.Drafts),
                (row, earlier, q) => emitter.Draft(_sampler, row, earlier, q)));
        }
        if (work is null)
            return null;
        _drafter.Draft(work);
        var drafts = new DraftWork?[chunks.Count];
        for (int b = 0; b < chunks.Count; b++)
        {
            if (index[b] < 0)
                continue;
            var w = work[index[b]];
            if (w.Sequence.TracksDraftCache)
                _scheduler.RegisterDraftRows(w.Sequence);
            if (w.Count > 0)
                drafts[b] = w;
        }
        return drafts;
    }

    /// <summary>
    /// A verify chunk: row j of its logits verifies draft j (the token after position Start + j). The request's
    /// emitter walks the drafts with the speculative rejection rule (greedy: accept while the draft is the argmax),
    /// emitting each token through the ordinary per-token path, so a stop or the length limit ends the output exactly
    /// where plain decoding ends it; the first rejection emits the replacement and ends the run, all accepted adds the
    /// target's own next token. Then the sequence keeps only the accepted positions (<see cref="Scheduler.CompleteVerified"/>)
    /// and the drafter takes their hidden states.
    /// </summary>
    private void Verify(ActiveRequest active, ScheduledChunk chunk, LogitsBuffer logits, int firstRow, DraftWork draft)
    {
        var outcomes = new List<TokenOutcome>(chunk.Count);
        var result = active.Emitter.AcceptSpeculative(_sampler, draft.Tokens, draft.Distributions, logits, firstRow, outcomes);
        _counters.Speculation.RecordVerify(chunk.Drafts, result.Accepted);
        for (int i = 0; i < outcomes.Count; i++)
            if (Publish(active, outcomes[i], logits.Row(firstRow + i)))
                return; // the request ended on this token: nothing after it was committed
        // Emitted = the last known token's position plus the accepted drafts' positions.
        _scheduler.CompleteVerified(chunk, result.Emitted);
        _drafter!.Observe(chunk.Sequence, chunk.Start, logits, firstRow, result.Emitted);
    }

    // Queue time ends at a request's first scheduled step (a recompute after preemption does not restart it).
    private void MarkScheduled(ScheduledStep step)
    {
        long now = 0;
        foreach (var chunk in step.Chunks)
        {
            if (!_active.TryGetValue(chunk.Sequence.Id, out var active) || active.ScheduledAt != 0)
                continue;
            if (now == 0)
                now = Stopwatch.GetTimestamp();
            active.ScheduledAt = now;
            _metrics.RecordQueueTime(Stopwatch.GetElapsedTime(active.Emitter.SubmittedAt, now).TotalSeconds);
        }
    }

    private void StepFailed(ScheduledStep step, Exception error)
    {
        int failures = Volatile.Read(ref _consecutiveFailedSteps) + 1;
        _lastProblem = error.Message;
        Volatile.Write(ref _consecutiveFailedSteps, failures);
        EngineLog.StepFailed(_log, Interlocked.Read(ref _steps), step.Chunks.Count, failures, error.Message, error);
    }

    /// <summary>
    /// Computes the grammar masks of this step's constrained sequences in parallel with each other, so that one
    /// expensive mask does not serialize the batch; sampling then only applies them. A failure here is left for the
    /// sequence's own <see cref="Emit"/>, which computes the mask again and fails only that request.
    /// </summary>
    private void PrepareMasks(ScheduledStep step, StepPlan plan)
    {
        List<TokenEmitter>? constrained = null;
        for (int b = 0; b < step.Chunks.Count; b++)
            if (plan.SamplingRow[b] >= 0 && _active.TryGetValue(step.Chunks[b].Sequence.Id, out var active) && active.Emitter.NeedsMask)
                (constrained ??= []).Add(active.Emitter);
        if (constrained is null)
            return;
        long start = Stopwatch.GetTimestamp();
        if (constrained.Count == 1)
            TryPrepare(constrained[0]);
        else
            Parallel.For(0, constrained.Count, i => TryPrepare(constrained[i]));
        Interlocked.Add(ref _maskTicks, Stopwatch.GetTimestamp() - start);

        static void TryPrepare(TokenEmitter emitter)
        {
            try
            {
                emitter.PrepareMask();
            }
            catch (Exception)
            {
                // Emit repeats the work on the step thread and releases the request with this error.
            }
        }
    }

    private void CollectPromptLogits(ActiveRequest active, LogitsBuffer logits, int row, int position, int count)
    {
        int vocab = logits.Vocab;
        active.PromptLogits ??= new float[active.Sequence.PromptLength * vocab];
        for (int i = 0; i < count; i++)
            logits.Row(row + i).CopyTo(active.PromptLogits.AsSpan((position + i) * vocab, vocab));
        active.PromptLogitsCollected = position + count;
    }

    /// <summary>
    /// The per-token path for a chosen token: the request's emitter steps, then publish, then release when it ended
    /// (true). Jump-forward follows: tokens the grammar forces next go in now, without sampling; the next step computes
    /// them as one chunk (they have no logits row of their own).
    /// </summary>
    private bool Emit(ActiveRequest active, ReadOnlySpan<float> row, int token)
    {
        var emitter = active.Emitter;
        if (Publish(active, emitter.Accept(token), row))
            return true;
        foreach (var forced in emitter.JumpForward())
            if (Publish(active, emitter.Accept(forced), []))
                return true;
        return false;
    }

    /// <summary>Counts, streams and (when it ended the request) releases one accepted token; true when it ended.</summary>
    private bool Publish(ActiveRequest active, TokenOutcome outcome, ReadOnlySpan<float> row)
    {
        var emitter = active.Emitter;
        EngineCounters.Add(ref _counters.GenerationTokens, 1);
        if (outcome.IsFirst)
        {
            Interlocked.Add(ref _reusedTokens, active.Sequence.ReusedPromptTokens);
            EngineCounters.Add(ref _counters.PromptTokens, active.Sequence.PromptLength);
            _metrics.RecordTimeToFirstToken(emitter.LastTokenLatencySeconds);
        }
        else
        {
            _metrics.RecordInterTokenLatency(emitter.LastTokenLatencySeconds);
        }
        active.Publish(outcome, row);
        if (outcome.FinishReason is { } reason)
        {
            if (reason == FinishReason.Stop)
                EngineCounters.Add(ref _counters.FinishedByStop, 1);
            else
                EngineCounters.Add(ref _counters.FinishedByLength, 1);
            LogFinished(active, reason, outcome.Usage!);
            Release(active, error: null);
            return true;
        }
        return false;
    }

    private void LogFinished(ActiveRequest active, FinishReason reason, GenerationUsage usage)
    {
        long now = Stopwatch.GetTimestamp();
        long submitted = active.Emitter.SubmittedAt;
        _metrics.RecordRequestLatency(Stopwatch.GetElapsedTime(submitted, now).TotalSeconds);
        if (!_log.IsEnabled(LogLevel.Information))
            return;
        double queueMs = Stopwatch.GetElapsedTime(submitted, active.ScheduledAt).TotalMilliseconds;
        EngineLog.RequestFinished(_log, active.Sequence.Id, reason == FinishReason.Stop ? "stop" : "length", usage.PromptTokens,
            usage.ReusedPromptTokens, usage.CompletionTokens, queueMs, usage.TimeToFirstToken.TotalMilliseconds,
            usage.DecodeTime.TotalMilliseconds, usage.DecodeTokensPerSecond, usage.Preemptions,
            usage.Speculation?.DraftTokens ?? 0, usage.Speculation?.AcceptedTokens ?? 0, usage.Speculation?.VerifySteps ?? 0);
    }

    /// <summary>
    /// Removes a request (finished: <paramref name="error"/> null; failed or cancelled: the error its caller sees),
    /// returns its blocks, ends its stream and then signals the release, so a caller that saw its request end also
    /// sees the freed blocks.
    /// </summary>
    private void Release(ActiveRequest active, Exception? error)
    {
        _active.Remove(active.Sequence.Id);
        _scheduler.Finish(active.Sequence);
        _drafter?.Forget(active.Sequence);
        if (error is OperationCanceledException)
        {
            EngineCounters.Add(ref _counters.Cancelled, 1);
            EngineLog.RequestCancelled(_log, active.Sequence.Id, active.Sequence.OutputLength);
        }
        else if (error is not null)
        {
            EngineCounters.Add(ref _counters.Failed, 1);
            EngineLog.RequestFailed(_log, active.Sequence.Id, active.Sequence.OutputLength, error.Message, error);
        }
        active.Close(error);
        PublishLoad();
        active.MarkReleased();
    }

    private static void Abandon(ActiveRequest active, Exception error)
    {
        active.Close(error);
        active.MarkReleased();
    }

    // What the gauges and FreeBlockCount read: the step thread's view after each change.
    private void PublishLoad()
    {
        Volatile.Write(ref _counters.FreeBlocks, _allocator.FreeBlockCount);
        Volatile.Write(ref _counters.Running, _scheduler.RunningCount);
        Volatile.Write(ref _counters.Waiting, _scheduler.WaitingCount);
    }
}
