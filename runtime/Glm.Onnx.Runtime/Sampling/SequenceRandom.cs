namespace Glm.Onnx.Runtime.Sampling;

/// <summary>
/// A request's own random stream (SplitMix64). Each request advances only its own state, one draw per sampled token,
/// so a seeded request produces the same tokens whether it runs alone or inside any batch, on any .NET version.
/// </summary>
public sealed class SequenceRandom
{
    private ulong _state;

    public SequenceRandom(ulong seed) => _state = seed;

    public ulong NextUInt64()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));
}
