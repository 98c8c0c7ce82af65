using System.Security.Cryptography;
using Glm.Onnx.Converter.Onnx;

namespace Glm.Onnx.Converter.Weights;

/// <summary>One finished data file: name relative to the artifacts directory, size and SHA-256 (hex).</summary>
public sealed record WrittenFile(string Path, long Bytes, string Sha256);

/// <summary>
/// Appends tensors to a stage's external-data shards (<c>{prefix}.NN.onnx.data</c>), starting a new shard when the
/// next tensor would pass the size cap (a tensor larger than the cap gets a shard of its own). Large tensors start at
/// 4 KiB-aligned offsets so ONNX Runtime can memory-map them. Each shard is hashed while it is written, so no second
/// pass over the data is needed. In dry-run mode nothing is written but every offset is computed the same way,
/// which is what <c>--plan</c> reports.
/// </summary>
public sealed class ExternalDataWriter : IDisposable
{
    private const long LargeTensorBytes = 64 * 1024;
    private const int LargeAlignment = 4096;
    private const int SmallAlignment = 64;

    private readonly string _directory;
    private readonly string _prefix;
    private readonly long _maxShardBytes;
    private readonly bool _dryRun;
    private readonly List<WrittenFile> _finished = [];
    private FileStream? _stream;
    private IncrementalHash? _hash;
    private string _currentName = "";
    private long _position;
    private long _pendingBytes;
    private int _shardIndex = -1;

    public ExternalDataWriter(string directory, string prefix, long maxShardBytes, bool dryRun)
    {
        if (maxShardBytes <= 0) throw new ArgumentOutOfRangeException(nameof(maxShardBytes), "shard size cap must be positive");
        _directory = directory;
        _prefix = prefix;
        _maxShardBytes = maxShardBytes;
        _dryRun = dryRun;
    }

    /// <summary>Bytes of tensor data (plus alignment padding) placed so far, over all shards.</summary>
    public long TotalBytes { get; private set; }

    /// <summary>Reserves room for a tensor and returns where it will live; write exactly that many bytes next.</summary>
    public ExternalDataLocation Begin(long byteLength)
    {
        if (_pendingBytes != 0) throw new InvalidOperationException("previous tensor was not fully written");
        int alignment = byteLength >= LargeTensorBytes ? LargeAlignment : SmallAlignment;
        long aligned = Align(_position, alignment);
        if (_shardIndex < 0 || (aligned + byteLength > _maxShardBytes && _position > 0))
        {
            StartShard();
            aligned = 0;
        }
        Pad(aligned - _position);
        _pendingBytes = byteLength;
        return new ExternalDataLocation(_currentName, aligned, byteLength);
    }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > _pendingBytes)
            throw new InvalidOperationException($"writing {bytes.Length} bytes but only {_pendingBytes} remain for this tensor");
        if (!_dryRun)
        {
            _stream!.Write(bytes);
            _hash!.AppendData(bytes);
        }
        _position += bytes.Length;
        TotalBytes += bytes.Length;
        _pendingBytes -= bytes.Length;
    }

    /// <summary>Skips the bytes of the current tensor (dry run only: sizes without data).</summary>
    public void Skip(long byteCount)
    {
        if (!_dryRun) throw new InvalidOperationException("Skip is for dry runs");
        _position += byteCount;
        TotalBytes += byteCount;
        _pendingBytes -= byteCount;
    }

    public bool DryRun => _dryRun;

    /// <summary>Closes the last shard (flushed to disk) and returns every shard written.</summary>
    public IReadOnlyList<WrittenFile> Finish()
    {
        if (_pendingBytes != 0) throw new InvalidOperationException("last tensor was not fully written");
        CloseShard();
        return _finished;
    }

    private void StartShard()
    {
        CloseShard();
        _shardIndex++;
        _currentName = $"{_prefix}.{_shardIndex:D2}.onnx.data";
        _position = 0;
        if (_dryRun) return;
        _stream = new FileStream(Path.Combine(_directory, _currentName), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    }

    private void CloseShard()
    {
        if (_shardIndex < 0 || _currentName.Length == 0) return;
        if (_dryRun)
        {
            _finished.Add(new WrittenFile(_currentName, _position, ""));
        }
        else if (_stream is not null)
        {
            _stream.Flush(flushToDisk: true);
            _stream.Dispose();
            _stream = null;
            _finished.Add(new WrittenFile(_currentName, _position, Convert.ToHexStringLower(_hash!.GetHashAndReset())));
            _hash.Dispose();
            _hash = null;
        }
        _currentName = "";
    }

    private void Pad(long count)
    {
        if (count <= 0) return;
        Span<byte> zeros = stackalloc byte[LargeAlignment];
        zeros.Clear();
        while (count > 0)
        {
            int n = (int)Math.Min(count, zeros.Length);
            if (!_dryRun)
            {
                _stream!.Write(zeros[..n]);
                _hash!.AppendData(zeros[..n]);
            }
            _position += n;
            TotalBytes += n;
            count -= n;
        }
    }

    private static long Align(long value, int alignment) => (value + alignment - 1) / alignment * alignment;

    public void Dispose()
    {
        _stream?.Dispose();
        _hash?.Dispose();
    }
}
