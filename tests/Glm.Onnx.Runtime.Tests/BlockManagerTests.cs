using Glm.Onnx.Runtime.Cache;

namespace Glm.Onnx.Tests;

/// <summary>The block manager's per-sequence side: growing tables, prefix lookup, registering full blocks, release.</summary>
public sealed class BlockManagerTests
{
    [Fact]
    public void GrowAllocatesOnlyTheBlocksTheTableLacks()
    {
        var allocator = new BlockAllocator(8, 4);
        var blocks = new BlockManager(allocator);
        var table = new BlockTable();
        Assert.Equal(3, blocks.BlocksMissing(table, 9));
        blocks.Grow(table, 9);
        Assert.Equal(3, table.Count);
        Assert.Equal(0, blocks.BlocksMissing(table, 12));
        Assert.Equal(1, blocks.BlocksMissing(table, 13));
        blocks.Grow(table, 12);
        Assert.Equal(3, table.Count);
        Assert.Equal(5, allocator.FreeBlockCount);
        Assert.Equal(3, table.Blocks.Distinct().Count());
    }

    [Fact]
    public void FullComputedBlocksAreRegisteredAndFoundByALaterSequenceWithTheSamePrefix()
    {
        var allocator = new BlockAllocator(8, 4);
        var blocks = new BlockManager(allocator);
        int[] tokens = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        var first = new BlockTable();
        blocks.Grow(first, tokens.Length);

        blocks.RegisterFullBlocks(first, tokens.AsSpan(0, 7)); // block 0 full, block 1 not yet
        Assert.Equal(1, first.HashedCount);
        Assert.Equal(1, allocator.CachedBlockCount);
        blocks.RegisterFullBlocks(first, tokens); // block 1 now full; block 2 holds 2 of 4
        Assert.Equal(2, first.HashedCount);
        Assert.Equal(2, allocator.CachedBlockCount);

        // Same first 9 tokens: both full blocks are shared (the 10th token is the one left to compute).
        var second = new BlockTable();
        Assert.Equal(8, blocks.ReuseCachedPrefix(second, [1, 2, 3, 4, 5, 6, 7, 8, 99]));
        Assert.Equal(first.Blocks.Take(2), second.Blocks);
        Assert.Equal(2, second.HashedCount);
        Assert.Equal(2, allocator.RefCount(first.Blocks[0]));

        // Same second block after a different first block: the chain breaks at the first.
        var third = new BlockTable();
        Assert.Equal(0, blocks.ReuseCachedPrefix(third, [0, 2, 3, 4, 5, 6, 7, 8, 9]));
        Assert.Empty(third.Blocks);
    }

    [Fact]
    public void ALookupAlwaysLeavesTheLastTokenToCompute()
    {
        var blocks = new BlockManager(new BlockAllocator(4, 2));
        var owner = new BlockTable();
        blocks.Grow(owner, 4);
        blocks.RegisterFullBlocks(owner, [1, 2, 3, 4]);
        var same = new BlockTable();
        Assert.Equal(2, blocks.ReuseCachedPrefix(same, [1, 2, 3, 4])); // the block holding token 4 is not reused
        Assert.Equal([owner.Blocks[0]], same.Blocks);
    }

    [Fact]
    public void ReleaseGivesTheTailBackFirstSoThePrefixIsEvictedLast()
    {
        var allocator = new BlockAllocator(2, 2);
        var blocks = new BlockManager(allocator);
        var table = new BlockTable();
        blocks.Grow(table, 4);
        blocks.RegisterFullBlocks(table, [1, 2, 3, 4]);
        int head = table.Blocks[0], tail = table.Blocks[1];
        blocks.Release(table);
        Assert.Empty(table.Blocks);
        Assert.Equal(0, table.HashedCount);
        Assert.Equal(2, allocator.FreeBlockCount);

        // New content evicts the least recently released cached block: the tail.
        Assert.Equal(tail, allocator.Allocate());
        var again = new BlockTable();
        Assert.Equal(2, blocks.ReuseCachedPrefix(again, [1, 2, 3, 4]));
        Assert.Equal([head], again.Blocks);
    }

    [Fact]
    public void WithPrefixCachingOffNothingIsRegisteredOrReused()
    {
        var allocator = new BlockAllocator(4, 2);
        var blocks = new BlockManager(allocator, prefixCaching: false);
        var table = new BlockTable();
        blocks.Grow(table, 4);
        blocks.RegisterFullBlocks(table, [1, 2, 3, 4]);
        Assert.Equal(0, table.HashedCount);
        Assert.Equal(0, allocator.CachedBlockCount);
        Assert.Equal(0, blocks.ReuseCachedPrefix(new BlockTable(), [1, 2, 3, 4, 5]));
    }

    [Fact]
    public void APrefixIsLookedUpOnlyForAnEmptyTable()
    {
        var blocks = new BlockManager(new BlockAllocator(4, 2));
        var table = new BlockTable();
        blocks.Grow(table, 1);
        Assert.Contains("empty block table", Assert.Throws<InvalidOperationException>(() => blocks.ReuseCachedPrefix(table, [1, 2, 3])).Message);
    }
}
