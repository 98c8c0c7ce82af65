using Glm.Onnx.Runtime.Cache;

namespace Glm.Onnx.Tests;

public sealed class BlockAllocatorTests
{
    [Fact]
    public void AllocatesEveryBlockOnceThenFailsClearly()
    {
        var allocator = new BlockAllocator(4, 2);
        var blocks = Enumerable.Range(0, 4).Select(_ => allocator.Allocate()).ToArray();
        Assert.Equal([0, 1, 2, 3], blocks.Order());
        Assert.Equal(0, allocator.FreeBlockCount);
        Assert.Contains("exhausted", Assert.Throws<InvalidOperationException>(() => allocator.Allocate()).Message);
        allocator.Release(blocks[2]);
        Assert.Equal(1, allocator.FreeBlockCount);
        Assert.Equal(blocks[2], allocator.Allocate());
    }

    [Fact]
    public void ReferenceCountsKeepSharedBlocksUntilTheLastRelease()
    {
        var allocator = new BlockAllocator(2, 2);
        int block = allocator.Allocate();
        allocator.AddRef(block);
        allocator.Release(block);
        Assert.Equal(1, allocator.RefCount(block));
        Assert.Equal(1, allocator.FreeBlockCount);
        allocator.Release(block);
        Assert.Equal(2, allocator.FreeBlockCount);
        Assert.Throws<InvalidOperationException>(() => allocator.Release(block));
    }

    [Fact]
    public void AFullBlockIsFoundAgainByItsPrefixAfterRelease()
    {
        var allocator = new BlockAllocator(4, 3);
        int first = allocator.Allocate();
        ulong h1 = allocator.MarkFull(first, PrefixHash.Root, [5, 6, 7]);
        int second = allocator.Allocate();
        allocator.MarkFull(second, h1, [8, 9, 10]);
        allocator.Release(second);
        allocator.Release(first);
        Assert.Equal(4, allocator.FreeBlockCount);

        Assert.Equal(first, allocator.TryReuse(PrefixHash.Root, [5, 6, 7]));
        Assert.Equal(second, allocator.TryReuse(h1, [8, 9, 10]));
        Assert.Equal(1, allocator.RefCount(first));
        Assert.Equal(2, allocator.FreeBlockCount);

        // Same tokens after a different prefix, or different tokens: no hit.
        Assert.Equal(-1, allocator.TryReuse(PrefixHash.Root, [8, 9, 10]));
        Assert.Equal(-1, allocator.TryReuse(h1, [8, 9, 11]));
    }

    [Fact]
    public void AReferencedCachedBlockIsSharedNotCopied()
    {
        var allocator = new BlockAllocator(2, 2);
        int block = allocator.Allocate();
        allocator.MarkFull(block, PrefixHash.Root, [1, 2]);
        Assert.Equal(block, allocator.TryReuse(PrefixHash.Root, [1, 2]));
        Assert.Equal(2, allocator.RefCount(block));
        Assert.Equal(1, allocator.FreeBlockCount);
    }

    [Fact]
    public void UncachedFreeBlocksAreTakenBeforeCachedOnesAndTheOldestCachedIsEvictedFirst()
    {
        var allocator = new BlockAllocator(3, 1);
        int a = allocator.Allocate(), b = allocator.Allocate(), c = allocator.Allocate();
        allocator.MarkFull(a, PrefixHash.Root, [1]);
        allocator.MarkFull(b, PrefixHash.Root, [2]);
        allocator.Release(a); // cached, released first: evicted first
        allocator.Release(b); // cached
        allocator.Release(c); // not cached: reused first
        Assert.Equal(c, allocator.Allocate());
        Assert.Equal(a, allocator.Allocate());
        Assert.False(allocator.IsCached(a));
        Assert.Equal(-1, allocator.TryReuse(PrefixHash.Root, [1]));
        Assert.Equal(b, allocator.TryReuse(PrefixHash.Root, [2]));
        Assert.Equal(1, allocator.CachedBlockCount);
    }

    [Fact]
    public void ASecondBlockWithTheSamePrefixStaysUncached()
    {
        var allocator = new BlockAllocator(2, 2);
        int a = allocator.Allocate(), b = allocator.Allocate();
        allocator.MarkFull(a, PrefixHash.Root, [3, 4]);
        allocator.MarkFull(b, PrefixHash.Root, [3, 4]);
        Assert.True(allocator.IsCached(a));
        Assert.False(allocator.IsCached(b));
    }
}
