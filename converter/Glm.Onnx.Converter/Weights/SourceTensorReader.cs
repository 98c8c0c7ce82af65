using Glm.Onnx.Checkpoint;
using Microsoft.Win32.SafeHandles;

namespace Glm.Onnx.Converter.Weights;

/// <summary>
/// Reads checkpoint tensors in row ranges with positioned reads (pread), not through a memory map, so that the pages
/// of a multi-gigabyte checkpoint never count towards the converter's resident memory: peak memory stays at the chunk
/// buffers whatever the checkpoint size. Block-FP8 weights (a <c>weight_scale_inv</c> beside them) are dequantised
/// on request.
/// </summary>
public sealed class SourceTensorReader : IDisposable
{
    private readonly GlmCheckpoint _checkpoint;
    private readonly Dictionary<string, SafeFileHandle> _handles = new(StringComparer.Ordinal);
    private byte[] _raw = [];

    public SourceTensorReader(GlmCheckpoint checkpoint) => _checkpoint = checkpoint;

    public GlmCheckpoint Checkpoint => _checkpoint;

    /// <summary>Bytes read from the checkpoint so far (for progress and throughput).</summary>
    public long BytesRead { get; private set; }

    /// <summary>The header entry of a described tensor, checked against the shape the model config implies.</summary>
    public TensorInfo Require(ModelTensor tensor) => Require(tensor.Name, tensor.Shape);

    /// <summary>The header entry, checked against the shape the model config implies.</summary>
    public TensorInfo Require(string name, params long[] expectedShape)
    {
        if (!_checkpoint.Contains(name))
            throw new InvalidDataException($"{_checkpoint.Directory}: tensor '{name}' is missing from the checkpoint " +
                                           $"(expected shape {ShapeMath.Format(expectedShape)})");
        var info = _checkpoint.GetInfo(name);
        if (!info.Shape.AsSpan().SequenceEqual(expectedShape))
            throw new InvalidDataException($"{info.FilePath}: tensor '{name}' has shape {info.ShapeText}, " +
                                           $"expected {ShapeMath.Format(expectedShape)} from config.json");
        if (!info.DType.IsFloat())
            throw new InvalidDataException($"{info.FilePath}: tensor '{name}' has dtype {info.DType}, expected a float type");
        return info;
    }

    /// <summary>Name of the block scale of an FP8 weight, or null when the tensor is not block-FP8.</summary>
    public string? ScaleOf(TensorInfo info)
    {
        if (info.DType != DType.F8_E4M3) return null;
        var scale = ExpectedTensors.ScaleName(info.Name);
        if (!_checkpoint.Contains(scale))
            throw new InvalidDataException($"{info.FilePath}: FP8 tensor '{info.Name}' has no '{scale}' (block scales) in the checkpoint");
        return scale;
    }

    /// <summary>Raw bytes [byteOffset, byteOffset + dest.Length) of a tensor.</summary>
    public void ReadBytes(TensorInfo info, long byteOffset, Span<byte> dest)
    {
        if (byteOffset < 0 || byteOffset + dest.Length > info.ByteLength)
            throw new ArgumentOutOfRangeException(nameof(byteOffset), $"tensor '{info.Name}': bytes [{byteOffset}, {byteOffset + dest.Length}) outside {info.ByteLength}");
        var file = _checkpoint.FileOf(info.Name);
        long position = file.Header.DataStart + info.DataOffset + byteOffset;
        var handle = Handle(info.FilePath);
        int done = 0;
        while (done < dest.Length)
        {
            int n = RandomAccess.Read(handle, dest[done..], position + done);
            if (n <= 0)
                throw new InvalidDataException($"{info.FilePath}: tensor '{info.Name}' ends early: the file is truncated at byte {position + done}");
            done += n;
        }
        BytesRead += dest.Length;
    }

    /// <summary>
    /// Rows [firstRow, firstRow + rowCount) of a 2-D tensor (a 1-D tensor is one row) as float32; FP8 rows are
    /// multiplied by their block scale.
    /// </summary>
    public void ReadRowsFloat32(TensorInfo info, long firstRow, int rowCount, Span<float> dest)
    {
        long cols = info.Shape.Length >= 2 ? info.Shape[^1] : info.Shape.Length == 1 ? info.Shape[0] : 1;
        long elements = rowCount * cols;
        if (dest.Length != elements) throw new ArgumentException($"dest holds {dest.Length} floats, expected {elements}");
        int elementSize = info.DType.ElementSize();
        int byteCount = checked((int)(elements * elementSize));
        if (_raw.Length < byteCount) _raw = new byte[byteCount];
        var raw = _raw.AsSpan(0, byteCount);
        ReadBytes(info, firstRow * cols * elementSize, raw);
        DTypeConversion.ToFloat32(info.DType, raw, dest);
        var scaleName = ScaleOf(info);
        if (scaleName is not null) ApplyBlockScales(info, scaleName, firstRow, rowCount, cols, dest);
    }

    private void ApplyBlockScales(TensorInfo info, string scaleName, long firstRow, int rowCount, long cols, Span<float> dest)
    {
        var quant = _checkpoint.Config.Quantization;
        int blockRows = quant?.BlockRows ?? 128, blockCols = quant?.BlockCols ?? 128;
        var scaleInfo = _checkpoint.GetInfo(scaleName);
        long rows = info.Shape[0];
        long[] expected = [(rows + blockRows - 1) / blockRows, (cols + blockCols - 1) / blockCols];
        if (!scaleInfo.Shape.AsSpan().SequenceEqual(expected))
            throw new InvalidDataException($"{scaleInfo.FilePath}: tensor '{scaleName}' has shape {scaleInfo.ShapeText}, " +
                                           $"expected {ShapeMath.Format(expected)} for {info.Name} {info.ShapeText} in {blockRows}x{blockCols} blocks");
        int colBlocks = (int)expected[1];
        long firstBlockRow = firstRow / blockRows, lastBlockRow = (firstRow + rowCount - 1) / blockRows;
        var scales = new float[(lastBlockRow - firstBlockRow + 1) * colBlocks];
        var scaleBytes = new byte[scales.Length * scaleInfo.DType.ElementSize()];
        ReadBytes(scaleInfo, firstBlockRow * colBlocks * scaleInfo.DType.ElementSize(), scaleBytes);
        DTypeConversion.ToFloat32(scaleInfo.DType, scaleBytes, scales);
        for (int r = 0; r < rowCount; r++)
        {
            var row = dest.Slice((int)(r * cols), (int)cols);
            var scaleRow = scales.AsSpan((int)(((firstRow + r) / blockRows - firstBlockRow) * colBlocks), colBlocks);
            for (int c = 0; c < cols; c++) row[c] *= scaleRow[c / blockCols];
        }
    }

    private SafeFileHandle Handle(string path)
    {
        if (!_handles.TryGetValue(path, out var handle))
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            _handles[path] = handle;
        }
        return handle;
    }

    public void Dispose()
    {
        foreach (var h in _handles.Values) h.Dispose();
        _handles.Clear();
    }
}
