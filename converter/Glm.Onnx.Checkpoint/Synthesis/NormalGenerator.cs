using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Text;

namespace Glm.Onnx.Checkpoint;

/// <summary>
/// Deterministic normal(0, std) values addressed by (stream seed, element index): element i of a stream is the same
/// however the tensor is split into windows or threads, so synthesised checkpoints are byte-identical for a seed.
/// Elements come in chunks of <see cref="ChunkSize"/>, each from its own SplitMix64 sequence through Box-Muller
/// (vectorised; the bytes are reproducible on one platform, not promised across CPU architectures).
/// </summary>
public static class NormalGenerator
{
    /// <summary>Elements per independently seeded chunk.</summary>
    public const int ChunkSize = 4096;

    /// <summary>A stream seed for tensor <paramref name="name"/> under the run seed <paramref name="seed"/> (FNV-1a of the name, mixed).</summary>
    public static ulong StreamSeed(ulong seed, string name)
    {
        ulong h = 14695981039346656037UL;
        foreach (byte b in Encoding.UTF8.GetBytes(name)) { h ^= b; h *= 1099511628211UL; }
        return Mix(h ^ Mix(seed + 0x9E3779B97F4A7C15UL));
    }

    /// <summary>Fills <paramref name="dest"/> with elements [firstElement, firstElement + dest.Length) of the stream, scaled by <paramref name="std"/>.</summary>
    public static void Fill(ulong streamSeed, long firstElement, Span<float> dest, float std)
    {
        Span<float> chunk = stackalloc float[ChunkSize];
        long end = firstElement + dest.Length;
        for (long chunkIndex = firstElement / ChunkSize; chunkIndex * ChunkSize < end; chunkIndex++)
        {
            long chunkStart = chunkIndex * ChunkSize;
            GenerateChunk(streamSeed, chunkIndex, chunk);
            long from = Math.Max(chunkStart, firstElement), to = Math.Min(chunkStart + ChunkSize, end);
            for (long i = from; i < to; i++) dest[(int)(i - firstElement)] = chunk[(int)(i - chunkStart)] * std;
        }
    }

    /// <summary>As <see cref="Fill"/>, split over threads in whole chunks (same values).</summary>
    public static void FillParallel(ulong streamSeed, long firstElement, float[] dest, int count, float std)
    {
        const int perTask = 64 * ChunkSize;
        int tasks = (count + perTask - 1) / perTask;
        if (tasks <= 1) { Fill(streamSeed, firstElement, dest.AsSpan(0, count), std); return; }
        Parallel.For(0, tasks, t =>
        {
            int start = t * perTask;
            int n = Math.Min(perTask, count - start);
            Fill(streamSeed, firstElement + start, dest.AsSpan(start, n), std);
        });
    }

    // Hot loop: skip tier-0 code, which is many times slower for vector intrinsics.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GenerateChunk(ulong streamSeed, long chunkIndex, Span<float> chunk)
    {
        // Box-Muller over half-chunks: the first half gets r cos(theta), the second half r sin(theta), vectorised.
        const int half = ChunkSize / 2;
        ulong state = Mix(streamSeed ^ Mix((ulong)chunkIndex + 0x632BE59BD9B4E019UL));
        Span<float> u1 = stackalloc float[half];
        Span<float> u2 = stackalloc float[half];
        for (int i = 0; i < half; i++)
        {
            // u1 in (0, 1] so the log is finite; 24-bit uniforms are plenty for weights.
            u1[i] = ((Next(ref state) >> 40) + 1) * (1f / 16777216f);
            u2[i] = (Next(ref state) >> 40) * (1f / 16777216f);
        }
        var cosOut = chunk[..half];
        var sinOut = chunk[half..];
        int v = Vector256<float>.Count;
        int n = half - half % v;
        var minusTwo = Vector256.Create(-2f);
        var twoPi = Vector256.Create(2f * MathF.PI);
        for (int i = 0; i < n; i += v)
        {
            var r = Vector256.Sqrt(minusTwo * Vector256.Log(Vector256.Create(u1[i..])));
            var (sin, cos) = Vector256.SinCos(twoPi * Vector256.Create(u2[i..]));
            (r * cos).CopyTo(cosOut[i..]);
            (r * sin).CopyTo(sinOut[i..]);
        }
        for (int i = n; i < half; i++)
        {
            float r = MathF.Sqrt(-2f * MathF.Log(u1[i]));
            var (sin, cos) = MathF.SinCos(2f * MathF.PI * u2[i]);
            cosOut[i] = r * cos;
            sinOut[i] = r * sin;
        }
    }

    private static ulong Next(ref ulong state)
    {
        state += 0x9E3779B97F4A7C15UL;
        return Mix(state);
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
