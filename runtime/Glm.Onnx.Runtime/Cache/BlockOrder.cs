namespace Glm.Onnx.Runtime.Cache;

/// <summary>The order in which a fresh <see cref="BlockAllocator"/> hands out its blocks.</summary>
public enum BlockOrder
{
    /// <summary>Block 0 first: a sequence's logical blocks mostly map to equal physical ids.</summary>
    Ascending,

    /// <summary>
    /// The last block first, so logical block j of the first sequence is physical block NumBlocks - 1 - j. For
    /// verification: a kernel that ignores the block table reads the wrong rows and fails instead of passing by accident.
    /// </summary>
    Reversed,
}
