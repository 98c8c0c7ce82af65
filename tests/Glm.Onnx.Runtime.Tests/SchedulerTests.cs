using Glm.Onnx.Runtime.Cache;
using Glm.Onnx.Runtime.Scheduling;

namespace Glm.Onnx.Tests;

public sealed class SchedulerTests
{
    private static Sequence Seq(long id, int length, int first = 0) =>
        new(id, Enumerable.Range(first, length).ToArray());

    /// <summary>Runs a step as the engine would: complete it, then append a token to every finished chunk.</summary>
    private static ScheduledStep Step(Scheduler scheduler)
    {
        var step = scheduler.Schedule() ?? throw new InvalidOperationException("nothing scheduled");
        scheduler.Complete(step);
        foreach (var chunk in step.Chunks)
            if (chunk.Sequence.Status == SequenceStatus.Running && chunk.Sequence.ComputedLength == chunk.Sequence.Tokens.Count)
                chunk.Sequence.AppendToken(99);
        return step;
    }

    [Fact]
    public void LongPromptsArePrefilledInChunksUnderTheTokenBudget()
    {
        var scheduler = new Scheduler(new BlockAllocator(16, 4), new SchedulerOptions(MaxTokensPerStep: 4));
        var sequence = Seq(1, 10);
        scheduler.Add(sequence);
        Assert.Equal([(0, 4)], Step(scheduler).Chunks.Select(c => (c.Start, c.Count)));
        Assert.Equal([(4, 4)], Step(scheduler).Chunks.Select(c => (c.Start, c.Count)));
        var last = Step(scheduler);
        Assert.Equal([(8, 2)], last.Chunks.Select(c => (c.Start, c.Count)));
        Assert.Equal(11, sequence.Tokens.Count);
        Assert.Equal(3, sequence.Blocks.Count);
        Assert.Equal([(10, 1)], Step(scheduler).Chunks.Select(c => (c.Start, c.Count)));
    }

    /// <summary>
    /// Rollback of a verify chunk (speculative decoding): drafts that reached into a block of their own and were
    /// rejected give that block back at once, the computed length stops after the accepted positions, and only blocks
    /// full of accepted tokens are registered in the prefix cache; an accepted run fills and registers its blocks.
    /// </summary>
    [Fact]
    public void ARejectedVerifyTailGivesBackTheBlockItAloneHeld()
    {
        var allocator = new BlockAllocator(16, 4);
        var scheduler = new Scheduler(allocator, new SchedulerOptions(EnablePrefixCaching: true));
        var sequence = Seq(1, 6);
        scheduler.Add(sequence);
        Step(scheduler); // prefilled: 7 tokens, 6 computed, 2 blocks
        sequence.DraftLimit = 4;

        var step = scheduler.Schedule()!;
        var chunk = Assert.Single(step.Chunks);
        Assert.Equal((6, 5, 4), (chunk.Start, chunk.Count, chunk.Drafts)); // positions 6..10: blocks 1 and 2
        Assert.Equal(3, sequence.Blocks.Count);
        int fresh = sequence.Blocks[2], free = allocator.FreeBlockCount;
        scheduler.Complete(step);
        Assert.Equal(6, sequence.ComputedLength); // a verify chunk waits for its outcome
        sequence.AppendToken(40); // the first draft rejected: the target's own token
        scheduler.CompleteVerified(chunk, 1);
        Assert.Equal(7, sequence.ComputedLength);
        Assert.Equal(2, sequence.Blocks.Count);
        Assert.Equal(free + 1, allocator.FreeBlockCount);
        Assert.Equal(0, allocator.RefCount(fresh));
        Assert.False(allocator.IsCached(fresh));
        Assert.Equal(1, sequence.BlockTable.HashedCount); // block 1 (positions 4..7) is not full of accepted tokens

        // Next step: all four drafts accepted; positions 7..11 fill blocks 1 and 2, both registered.
        step = scheduler.Schedule()!;
        chunk = Assert.Single(step.Chunks);
        Assert.Equal((7, 5), (chunk.Start, chunk.Count));
        scheduler.Complete(step);
        foreach (var token in new[] { 41, 42, 43, 44, 45 })
            sequence.AppendToken(token);
        scheduler.CompleteVerified(chunk, 5);
        Assert.Equal(12, sequence.ComputedLength);
        Assert.Equal(3, sequence.Blocks.Count);
        Assert.Equal(3, sequence.BlockTable.HashedCount);
    }

    [Fact]
    public void DecodesGoFirstAndPrefillChunksFillTheRestOfTheBudget()
    {
        var scheduler = new Scheduler(new BlockAllocator(32, 4), new SchedulerOptions(MaxTokensPerStep: 6));
        var a = Seq(1, 3);
        scheduler.Add(a);
        Step(scheduler); // a prefilled, now decoding
        var b = Seq(2, 20, first: 50);
        scheduler.Add(b);
        var step = Step(scheduler);
        Assert.Equal([(a, 3, 1), (b, 0, 5)], step.Chunks.Select(c => (c.Sequence, c.Start, c.Count)));
    }

    [Fact]
    public void AWaitingSequenceWaitsWhenBlocksRunOut()
    {
        var allocator = new BlockAllocator(3, 4);
        var scheduler = new Scheduler(allocator, new SchedulerOptions());
        var a = Seq(1, 8);
        var b = Seq(2, 8, first: 100);
        scheduler.Add(a);
        scheduler.Add(b);
        var step = Step(scheduler);
        Assert.Equal([a], step.Chunks.Select(c => c.Sequence));
        Assert.Equal(1, scheduler.WaitingCount);
        scheduler.Finish(a);
        Assert.Equal(3, allocator.FreeBlockCount);
        Assert.Equal([b], Step(scheduler).Chunks.Select(c => c.Sequence));
    }

    [Fact]
    public void TheNewestRunningSequenceIsPreemptedWhenAnOlderOneNeedsABlock()
    {
        var allocator = new BlockAllocator(4, 2);
        var scheduler = new Scheduler(allocator, new SchedulerOptions(EnablePrefixCaching: false));
        var a = Seq(1, 4);
        var b = Seq(2, 4, first: 10);
        scheduler.Add(a);
        scheduler.Add(b);
        Step(scheduler); // both prefilled: 2 blocks each, pool full; each got a 5th token
        var step = Step(scheduler);
        Assert.Equal([a], step.Chunks.Select(c => c.Sequence));
        Assert.Equal(SequenceStatus.Waiting, b.Status);
        Assert.Equal(1, b.Preemptions);
        Assert.Equal(0, b.ComputedLength);
        Assert.Empty(b.Blocks);
        Assert.Equal(5, b.Tokens.Count); // its generated token is kept and recomputed later
    }

    [Fact]
    public void APromptReusesCachedFullBlocksButComputesAtLeastItsLastToken()
    {
        var allocator = new BlockAllocator(16, 4);
        var scheduler = new Scheduler(allocator, new SchedulerOptions());
        var a = Seq(1, 8);
        scheduler.Add(a);
        Step(scheduler);
        var aBlocks = a.Blocks.ToArray();

        // Identical prompt: its second block holds the last token, which must be computed (and a shared block is
        // never written), so only the first block is reused.
        var b = Seq(2, 8);
        scheduler.Add(b);
        var step = Step(scheduler);
        var chunk = Assert.Single(step.Chunks, c => c.Sequence == b);
        Assert.Equal((4, 4), (chunk.Start, chunk.Count));
        Assert.Equal(4, b.ReusedPromptTokens);
        Assert.Equal(aBlocks[0], b.Blocks[0]);
        Assert.NotEqual(aBlocks[1], b.Blocks[1]);
        Assert.Equal(2, allocator.RefCount(aBlocks[0]));
    }

    [Fact]
    public void FinishReturnsEveryBlock()
    {
        var allocator = new BlockAllocator(8, 2);
        var scheduler = new Scheduler(allocator, new SchedulerOptions());
        var a = Seq(1, 7);
        scheduler.Add(a);
        Step(scheduler);
        Assert.Equal(4, a.Blocks.Count);
        scheduler.Finish(a);
        Assert.Equal(8, allocator.FreeBlockCount);
        Assert.False(scheduler.HasWork);
    }

    [Fact]
    public void ASequenceLargerThanThePoolIsRejected()
    {
        var scheduler = new Scheduler(new BlockAllocator(2, 2), new SchedulerOptions());
        Assert.Contains("holds at most 4", Assert.Throws<ArgumentException>(() => scheduler.Add(Seq(1, 5))).Message);
    }
}
