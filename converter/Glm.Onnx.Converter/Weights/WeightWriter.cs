using System.Runtime.InteropServices;
using Glm.Onnx.Checkpoint;
using Glm.Onnx.Converter.Onnx;

namespace Glm.Onnx.Converter.Weights;

/// <summary>
/// Turns checkpoint tensors into stage-graph initializers, one tensor at a time and in bounded row chunks, applying
/// the <see cref="PrecisionPolicy"/>. Each method returns what the graph needs to use the weight: a projection's
/// <see cref="LinearWeight"/> names its initializers at their stored width and the op that reads them (Gemm on float32,
/// DenseProjection on bf16 / block-FP8, MatMulNBits on int8 / int4). No weight matrix is ever Cast or dequantised by
/// graph nodes: ONNX Runtime would fold such a node into a float32 copy at load, or re-run it on every step when the
/// matrix is too large to fold (docs/artifacts.md, "Precision").
/// </summary>
public sealed class WeightWriter
{
    /// <summary>Elements converted per chunk: bounds the converter's working memory (~3 x 32 MB).</summary>
    public const int ChunkElements = 8 << 20;

    private readonly SourceTensorReader _reader;
    private readonly ExternalDataWriter _data;
    private readonly PrecisionPolicy _policy;
    private readonly Action<string, long> _onTensor;
    private readonly IReadOnlyDictionary<string, ExternalDataLocation> _shared;
    private readonly Dictionary<string, ExternalDataLocation> _placed = new(StringComparer.Ordinal);
    private float[] _floats = [];
    private byte[] _bytes = [];
    private readonly int _threads;

    /// <summary>Suffix of the group-scale initializer beside an int8 / int4 weight.</summary>
    public const string GroupScaleSuffix = ".group_scales";

    /// <param name="shared">
    /// Initializers another stage already wrote, by name: this stage's initializer of that name points at the same
    /// bytes instead of writing a copy (the MTP stage's embedding and lm_head, docs/artifacts.md).
    /// </param>
    /// <param name="threads">Threads that quantise the rows of one chunk (the bytes do not depend on it).</param>
    public WeightWriter(SourceTensorReader reader, ExternalDataWriter data, PrecisionPolicy policy, Action<string, long> onTensor,
        IReadOnlyDictionary<string, ExternalDataLocation>? shared = null, int threads = 1)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), $"--threads {threads}: at least one thread is needed");
        _threads = threads;
        _reader = reader;
        _data = data;
        _policy = policy;
        _onTensor = onTensor;
        _shared = shared ?? new Dictionary<string, ExternalDataLocation>();
    }

    public PrecisionPolicy Policy => _policy;

    /// <summary>Where each embedding / linear initializer this writer placed lives (name -> shard, offset, length).</summary>
    public IReadOnlyDictionary<string, ExternalDataLocation> Placed => _placed;

    /// <summary>The other stage's location of <paramref name="name"/> when it is shared with this stage.</summary>
    private bool TryShared(string name, OnnxDataType type, long[] dims, out ExternalDataLocation location)
    {
        if (!_shared.TryGetValue(name, out location!)) return false;
        long bytes = ShapeMath.ElementCount(dims) * type.ElementSize();
        if (location.Length != bytes)
            throw new InvalidOperationException(
                $"shared initializer '{name}' has {location.Length} bytes in {location.File}, this stage needs {bytes} ({type.OnnxName()} {ShapeMath.Format(dims)})");
        return true;
    }

    /// <summary>A float32 vector (norm weight, bias, router correction bias); the initializer keeps the checkpoint name.</summary>
    public string Vector(GraphBuilder g, ModelTensor tensor)
    {
        var info = _reader.Require(tensor);
        long length = tensor.Rows;
        WriteTensor(g, info, tensor.Name, OnnxDataType.Float, [length], [(0, 1)], length);
        return tensor.Name;
    }

    /// <summary>
    /// A [rows, cols] linear weight kept in the checkpoint's [out, in] layout: float32 (Gemm), bf16 or block-FP8
    /// (DenseProjection), or int8 / int4 quantised for MatMulNBits. <paramref name="forceFloat32"/> keeps it float32
    /// whatever the policy (the router).
    /// </summary>
    public LinearWeight Matrix(GraphBuilder g, ModelTensor tensor, bool forceFloat32 = false)
    {
        var info = _reader.Require(tensor);
        long rows = tensor.Rows, cols = tensor.Cols;
        var precision = forceFloat32 ? TargetPrecision.Fp32 : _policy.For(tensor);
        if (precision.IntBits() is var bits and > 0)
            return _policy.DenseIntOp == DenseIntOp.DenseProjection
                ? IntDenseMatrix(g, info, rows, cols, bits)
                : QuantizedMatrix(g, info, rows, cols, bits);
        // Block-FP8 source weights stay FP8 + scales at bf16 and fp8: rounding fp8 x scale to bf16 would double their
        // size and lose precision (measured on the FP8 fixture: argmax agreement 89 % instead of 100 %).
        var scale = _reader.ScaleOf(info);
        if (precision != TargetPrecision.Fp32 && scale is not null)
            return Fp8Matrix(g, info, scale, rows, cols);
        var type = precision == TargetPrecision.Fp32 ? OnnxDataType.Float : OnnxDataType.BFloat16;
        WriteTensor(g, info, tensor.Name, type, [rows, cols], [(0, rows)], cols);
        return type == OnnxDataType.Float ? LinearWeight.Float32(tensor.Name) : LinearWeight.BFloat16(tensor.Name);
    }

    /// <summary>
    /// An int8 / int4 projection in MatMulNBits' layout: B uint8 [rows, groups, group * bits / 8] under the tensor's
    /// name and float32 scales [rows, groups] beside it, scales written first (see <see cref="WriteQuantized"/>).
    /// </summary>
    private LinearWeight QuantizedMatrix(GraphBuilder g, TensorInfo info, long rows, long cols, int bits)
    {
        const QuantizedLayout layout = QuantizedLayout.MatMulNBits;
        int group = _policy.GroupSize, groups = GroupQuantizer.GroupCount(cols, group);
        string scaleName = info.Name + GroupScaleSuffix;
        long[] weightDims = [rows, groups, (long)group * bits / 8], scaleDims = [rows, groups];
        bool sharedW = TryShared(info.Name, OnnxDataType.UInt8, weightDims, out var weightAt);
        bool sharedS = TryShared(scaleName, OnnxDataType.Float, scaleDims, out var scaleAt);
        if (sharedW != sharedS)
            throw new InvalidOperationException($"'{info.Name}': the shared stage placed only one of its weight and scales");
        if (!sharedW)
            (weightAt, scaleAt) = WriteQuantized([(info, rows)], cols, bits, layout, info.Name);
        g.Initializer(OnnxTensor.ExternalData(scaleName, OnnxDataType.Float, scaleDims, scaleAt));
        g.Initializer(OnnxTensor.ExternalData(info.Name, OnnxDataType.UInt8, weightDims, weightAt));
        return LinearWeight.NBits(info.Name, scaleName, bits, cols, rows, group, _policy.AccuracyLevel);
    }

    /// <summary>
    /// An int8 / int4 projection for DenseProjection in the contract's layout (the routed experts' own, one matrix):
    /// int8 [rows, cols] or uint8 nibble pairs [rows, ceil(cols / 2)] under the tensor's name and float16 scales
    /// [rows, groups] beside it, scales written first (see <see cref="WriteQuantized"/>).
    /// </summary>
    private LinearWeight IntDenseMatrix(GraphBuilder g, TensorInfo info, long rows, long cols, int bits)
    {
        const QuantizedLayout layout = QuantizedLayout.Contract;
        int group = _policy.GroupSize, groups = GroupQuantizer.GroupCount(cols, group);
        string scaleName = info.Name + GroupScaleSuffix;
        var weightType = bits == 8 ? OnnxDataType.Int8 : OnnxDataType.UInt8;
        long[] weightDims = [rows, QuantizedPacking.RowBytes(layout, bits, cols, group)], scaleDims = [rows, groups];
        bool sharedW = TryShared(info.Name, weightType, weightDims, out var weightAt);
        bool sharedS = TryShared(scaleName, OnnxDataType.Float16, scaleDims, out var scaleAt);
        if (sharedW != sharedS)
            throw new InvalidOperationException($"'{info.Name}': the shared stage placed only one of its weight and scales");
        if (!sharedW)
            (weightAt, scaleAt) = WriteQuantized([(info, rows)], cols, bits, layout, info.Name);
        return ContractIntInitializers(g, info.Name, rows, cols, bits, weightAt, scaleAt);
    }

    /// <summary>
    /// Quantises the stacked <paramref name="parts"/> (each [rows, cols]) in two streaming passes over the source:
    /// the scales first, then the packed weights, so that neither is held in memory (the scales of a stacked expert
    /// tensor at GLM-5.2 widths are hundreds of MB). Both passes compute the same scales, so they agree. Every row is
    /// quantised on its own, so a stack holds exactly the bytes its parts would hold apart. The weights are recorded
    /// under <paramref name="weightName"/> (null: not recorded), the scales under the first part's name.
    /// </summary>
    private (ExternalDataLocation Weights, ExternalDataLocation Scales) WriteQuantized(IReadOnlyList<(TensorInfo Info, long Rows)> parts,
        long cols, int bits, QuantizedLayout layout, string? weightName)
    {
        int group = _policy.GroupSize, groups = GroupQuantizer.GroupCount(cols, group);
        long scaleRowBytes = (long)groups * QuantizedPacking.ScaleBytes(layout);
        long weightRowBytes = QuantizedPacking.RowBytes(layout, bits, cols, group);
        long rows = parts.Sum(p => p.Rows);
        var scaleAt = _data.Begin(scaleRowBytes * rows);
        foreach (var (info, r) in parts) QuantizePass(info, r, cols, bits, layout, scalesPass: true);
        var weightAt = _data.Begin(weightRowBytes * rows);
        foreach (var (info, r) in parts)
        {
            QuantizePass(info, r, cols, bits, layout, scalesPass: false);
            _onTensor(info.Name, info.ByteLength);
        }
        _placed[parts[0].Info.Name + GroupScaleSuffix] = scaleAt;
        if (weightName is not null) _placed[weightName] = weightAt;
        return (weightAt, scaleAt);
    }

    /// <summary>
    /// Whether <paramref name="tensors"/> (projections of one input) can be stored as one row-concatenated matrix:
    /// same input width and storage precision, and, where they are kept block-FP8, all of them so with every part's
    /// rows a whole number of scale blocks (else a square block would straddle two parts: GLM-5.2's gate / up stack,
    /// q_a + kv_a with its 576 rows does not). One projection over the stack replaces a call per part
    /// (docs/artifacts.md, "Fused projections").
    /// </summary>
    public bool CanConcatenate(IReadOnlyList<ModelTensor> tensors)
    {
        if (tensors.Count < 2) return false;
        var precision = _policy.For(tensors[0]);
        bool keepsFp8 = precision != TargetPrecision.Fp32 && precision.IntBits() == 0;
        int fp8Rows = 0;
        foreach (var tensor in tensors)
        {
            if (tensor.Cols != tensors[0].Cols || _policy.For(tensor) != precision) return false;
            if (!keepsFp8) continue;
            bool scaled = _reader.ScaleOf(_reader.Require(tensor)) is not null;
            if (scaled) fp8Rows++;
            if (scaled && (!SquareFp8Blocks(out int block) || tensor.Rows % block != 0)) return false;
        }
        return fp8Rows == 0 || fp8Rows == tensors.Count;
    }

    /// <summary>
    /// Whether a MoE layer's shared expert (<paramref name="shared"/>: gate, up, down) can be stored as one more expert
    /// after the routed ones in the MoeExperts stacks (<see cref="Experts"/>; the op's <c>shared_experts</c>,
    /// docs/onnx-contract.md): the shapes of a routed expert's (<paramref name="routed"/>), the routed experts'
    /// precision, and block-FP8 scales of one shape on both or on neither (so the stack keeps the routed experts'
    /// storage). Not at
    /// fp32, whose shared expert runs on Gemm (MLAS's SGEMM prefills faster than MoeExperts' float tiles: 12 % of the
    /// `small` prompt-32 prefill, docs/benchmarks.md), nor with <c>--dense-op matmulnbits</c> (the op asked for).
    /// </summary>
    public bool CanStackWithExperts(MlpTensors shared, MlpTensors routed)
    {
        ModelTensor[] s = [shared.GateProj, shared.UpProj, shared.DownProj], r = [routed.GateProj, routed.UpProj, routed.DownProj];
        var precision = _policy.Of(WeightPart.Experts);
        if (precision == TargetPrecision.Fp32 || (precision.IntBits() > 0 && _policy.DenseIntOp != DenseIntOp.DenseProjection))
            return false;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i].Rows != r[i].Rows || s[i].Cols != r[i].Cols || _policy.For(s[i]) != precision) return false;
            string? sharedScale = _reader.ScaleOf(_reader.Require(s[i])), routedScale = _reader.ScaleOf(_reader.Require(r[i]));
            if ((sharedScale is null) != (routedScale is null)) return false;
            if (sharedScale is not null && !_reader.Checkpoint.GetInfo(sharedScale).Shape.AsSpan()
                    .SequenceEqual(_reader.Checkpoint.GetInfo(routedScale!).Shape)) return false;
        }
        return true;
    }

    /// <summary>The checkpoint's FP8 blocks when DenseProjection can keep them (square, a multiple of 8).</summary>
    private bool SquareFp8Blocks(out int block)
    {
        var q = _reader.Checkpoint.Config.Quantization;
        int rows = q?.BlockRows ?? 128, cols = q?.BlockCols ?? 128;
        block = rows;
        return rows == cols && rows % 8 == 0;
    }

    /// <summary>
    /// <paramref name="tensors"/> ([rows_i, cols] each, in this order) as one [sum rows_i, cols] projection named
    /// <paramref name="name"/>, stored as <see cref="Matrix"/> would store each of them: row i of the stack is the
    /// same bytes (float32 / bf16) or the same quantised row and scales (int8 / int4) as in its own matrix.
    /// </summary>
    public LinearWeight ConcatenatedMatrix(GraphBuilder g, IReadOnlyList<ModelTensor> tensors, string name)
    {
        if (!CanConcatenate(tensors))
            throw new InvalidOperationException($"'{name}': {string.Join(", ", tensors.Select(t => t.Name))} cannot be stored as one matrix");
        var parts = tensors.Select(t => (Info: _reader.Require(t), t.Rows)).ToArray();
        long rows = parts.Sum(p => p.Rows), cols = tensors[0].Cols;
        var precision = _policy.For(tensors[0]);
        if (precision.IntBits() is var bits and > 0)
        {
            int group = _policy.GroupSize, groups = GroupQuantizer.GroupCount(cols, group);
            string scaleName = name + GroupScaleSuffix;
            if (_policy.DenseIntOp == DenseIntOp.DenseProjection)
            {
                var (denseAt, denseScaleAt) = WriteQuantized(parts, cols, bits, QuantizedLayout.Contract, name);
                return ContractIntInitializers(g, name, rows, cols, bits, denseAt, denseScaleAt);
            }
            var (weightAt, scaleAt) = WriteQuantized(parts, cols, bits, QuantizedLayout.MatMulNBits, name);
            g.Initializer(OnnxTensor.ExternalData(scaleName, OnnxDataType.Float, [rows, groups], scaleAt));
            g.Initializer(OnnxTensor.ExternalData(name, OnnxDataType.UInt8, [rows, groups, (long)group * bits / 8], weightAt));
            return LinearWeight.NBits(name, scaleName, bits, cols, rows, group, _policy.AccuracyLevel);
        }
        if (precision != TargetPrecision.Fp32 && _reader.ScaleOf(parts[0].Info) is not null)
            return ConcatenatedFp8Matrix(g, parts, rows, cols, name);
        var type = precision == TargetPrecision.Fp32 ? OnnxDataType.Float : OnnxDataType.BFloat16;
        var location = _data.Begin(rows * cols * type.ElementSize());
        foreach (var (info, r) in parts)
        {
            Encode(info, type, [(0, r)], cols);
            _onTensor(info.Name, info.ByteLength);
        }
        _placed[name] = location;
        g.Initializer(OnnxTensor.ExternalData(name, type, [rows, cols], location));
        return type == OnnxDataType.Float ? LinearWeight.Float32(name) : LinearWeight.BFloat16(name);
    }

    /// <summary>One pass over a source tensor in row chunks, writing either its packed scales or its packed rows.</summary>
    private void QuantizePass(TensorInfo info, long rows, long cols, int bits, QuantizedLayout layout, bool scalesPass)
    {
        if (_data.DryRun)
        {
            _data.Skip(QuantizedRowBytes(cols, bits, layout, scalesPass) * rows);
            return;
        }
        int rowsPerChunk = (int)Math.Max(1, Math.Min(ChunkElements / cols, int.MaxValue));
        for (long r = 0; r < rows; r += rowsPerChunk)
        {
            int n = (int)Math.Min(rowsPerChunk, rows - r);
            _reader.ReadRowsFloat32(info, r, n, Floats(checked((int)(n * cols))));
            long first = r;
            WriteQuantizedRows(_floats, n, cols, bits, layout, scalesPass, i => $"{info.FilePath}: tensor '{info.Name}' row {first + i}");
        }
    }

    /// <summary>Bytes of one row's packed scales (<paramref name="scalesPass"/>) or packed weights.</summary>
    private long QuantizedRowBytes(long cols, int bits, QuantizedLayout layout, bool scalesPass) =>
        ParallelRowQuantizer.RowBytes(layout, bits, cols, _policy.GroupSize, scalesPass);

    /// <summary>
    /// Quantises the first <paramref name="n"/> rows of <paramref name="floats"/> ([n, cols]) on the writer's threads
    /// (<see cref="ParallelRowQuantizer"/>) and writes either their packed scales or their packed weights;
    /// <paramref name="where"/> names row i in errors.
    /// </summary>
    private void WriteQuantizedRows(float[] floats, int n, long cols, int bits, QuantizedLayout layout, bool scalesPass,
        Func<int, string> where)
    {
        int bytes = checked((int)(n * QuantizedRowBytes(cols, bits, layout, scalesPass)));
        Bytes(bytes);
        ParallelRowQuantizer.QuantizeRows(floats, n, checked((int)cols), bits, _policy.GroupSize, layout, scalesPass, _threads, _bytes, where);
        _data.Write(_bytes.AsSpan(0, bytes));
    }

    /// <summary>The embedding table as stored (float32 or bf16): the graph gathers rows first and casts after.</summary>
    public (string Name, OnnxDataType Type) Table(GraphBuilder g, ModelTensor tensor)
    {
        var info = _reader.Require(tensor);
        long rows = tensor.Rows, cols = tensor.Cols;
        var type = _policy.Target == TargetPrecision.Fp32 ? OnnxDataType.Float : OnnxDataType.BFloat16;
        WriteTensor(g, info, tensor.Name, type, [rows, cols], [(0, rows)], cols);
        return (tensor.Name, type);
    }

    /// <summary>
    /// The absorbed MLA matrices cut from kv_b_proj (whose rows are head-major blocks of qk_nope + v_head_dim rows),
    /// for DenseProjection with <c>groups</c> = heads: W_UK^T [heads * kv_lora_rank, qk_nope] (head h's [qk_nope,
    /// kv_lora_rank] block transposed, so q_nope's head h maps to its latent row) and W_UV [heads * v_head_dim,
    /// kv_lora_rank] (head h's value rows as they are), stored as <see cref="AbsorbedFormat.For"/> says. Each head's
    /// block is read, transposed or copied, and written on its own (bounded memory).
    /// </summary>
    public (LinearWeight WUk, LinearWeight WUv) AbsorbedKvB(GraphBuilder g, ModelTensor kvBProj, string prefix, int heads, int nope, int v)
    {
        long rank = kvBProj.Cols;
        if (kvBProj.Rows != (long)heads * (nope + v))
            throw new ArgumentException($"'{kvBProj.Name}' is described as {ShapeMath.Format(kvBProj.Shape)}, not {heads} heads x ({nope} + {v}) rows", nameof(kvBProj));
        var info = _reader.Require(kvBProj);
        var scaleName = _reader.ScaleOf(info);
        var format = AbsorbedFormat.For(_policy.For(kvBProj), scaleName is null ? null : _reader.Checkpoint.Config.Quantization, nope, v, rank);
        string source = $"{info.FilePath}: tensor '{info.Name}'";
        LinearWeight uk, uv;
        if (format.Type == OnnxDataType.Float8E4M3FN)
            (uk, uv) = AbsorbedFp8(g, info, scaleName!, prefix, heads, nope, v, rank, format.Fp8Block);
        else
        {
            var block = new float[nope * rank];
            void UkRows(int h, Span<float> dest)  // [rank, nope]: the transpose of the head's [nope, rank] rows
            {
                _reader.ReadRowsFloat32(info, (long)h * (nope + v), nope, block);
                for (int j = 0; j < nope; j++)
                    for (long r = 0; r < rank; r++)
                        dest[(int)(r * nope + j)] = block[j * rank + r];
            }
            void UvRows(int h, Span<float> dest) => _reader.ReadRowsFloat32(info, (long)h * (nope + v) + nope, v, dest);
            uk = GroupedMatrix(g, prefix + ".w_uk_t", heads, rank, nope, format.Type, format.Bits, UkRows, source);
            uv = GroupedMatrix(g, prefix + ".w_uv", heads, v, rank, format.Type, format.Bits, UvRows, source);
        }
        _onTensor(info.Name, info.ByteLength);
        return (uk, uv);
    }

    /// <summary>Suffix of the float32 block-scale initializer beside a re-blocked FP8 W_UK^T / W_UV.</summary>
    public const string BlockScaleSuffix = ".block_scales";

    /// <summary>
    /// W_UK^T and W_UV of a block-FP8 kv_b_proj kept as its e4m3 bytes (transposed per head for W_UK^T, copied for
    /// W_UV) in square <paramref name="block"/>-side blocks, each block's float32 scale the one of the source block it
    /// lies in (<see cref="AbsorbedFormat.Fp8BlockFor"/> guarantees one), so the dequantised values are exactly the
    /// checkpoint's. The source scales ([rows / block_rows, cols / block_cols] floats) are read whole: they are small.
    /// </summary>
    private (LinearWeight WUk, LinearWeight WUv) AbsorbedFp8(GraphBuilder g, TensorInfo info, string scaleName, string prefix,
        int heads, int nope, int v, long rank, int block)
    {
        var quant = _reader.Checkpoint.Config.Quantization!;
        int blockRows = quant.BlockRows, blockCols = quant.BlockCols;
        var scaleInfo = _reader.Checkpoint.GetInfo(scaleName);
        long srcRows = (long)heads * (nope + v);
        long[] srcScaleDims = [(srcRows + blockRows - 1) / blockRows, (rank + blockCols - 1) / blockCols];
        if (scaleInfo.DType != DType.F32 || !scaleInfo.Shape.AsSpan().SequenceEqual(srcScaleDims))
            throw new InvalidDataException($"{scaleInfo.FilePath}: '{scaleName}' is {scaleInfo.DType} {scaleInfo.ShapeText}, " +
                                           $"expected F32 {ShapeMath.Format(srcScaleDims)} for '{info.Name}' {info.ShapeText} in {blockRows}x{blockCols} blocks");
        var srcScales = new float[srcScaleDims[0] * srcScaleDims[1]];
        if (!_data.DryRun) _reader.ReadBytes(scaleInfo, 0, MemoryMarshal.AsBytes(srcScales.AsSpan()));
        float SourceScale(long row, long col) => srcScales[row / blockRows * srcScaleDims[1] + col / blockCols];
        var head = new byte[Math.Max(nope, v) * rank];
        void ReadHeadRows(int h, long offset, int rows) =>
            _reader.ReadBytes(info, ((long)h * (nope + v) + offset) * rank, head.AsSpan(0, (int)(rows * rank)));

        // W_UK^T [heads * rank, nope]: row (h, k), column j is source (h * (nope + v) + j, k).
        var uk = Fp8Grouped(g, prefix + ".w_uk_t", heads, rank, nope, block, (h, dest) =>
        {
            ReadHeadRows(h, 0, nope);
            for (int j = 0; j < nope; j++)
                for (long k = 0; k < rank; k++)
                    dest[(int)(k * nope + j)] = head[j * rank + k];
        }, (h, rb, cb) => SourceScale((long)h * (nope + v) + cb * block, rb * block));
        // W_UV [heads * v, rank]: row (h, r) is source row h * (nope + v) + nope + r.
        var uv = Fp8Grouped(g, prefix + ".w_uv", heads, v, rank, block, (h, dest) =>
        {
            ReadHeadRows(h, nope, v);
            head.AsSpan(0, (int)(v * rank)).CopyTo(dest);
        }, (h, rb, cb) => SourceScale((long)h * (nope + v) + nope + rb * block, cb * block));
        return (uk, uv);
    }

    /// <summary>
    /// A [groups * rows, cols] e4m3 matrix written group by group from <paramref name="fill"/> (a group's [rows, cols]
    /// bytes), then its float32 scales [groups * rows / block, cols / block] from <paramref name="scale"/> (group,
    /// block row inside the group, block column).
    /// </summary>
    private LinearWeight Fp8Grouped(GraphBuilder g, string name, int groups, long rows, long cols, int block,
        Action<int, Span<byte>> fill, Func<int, long, long, float> scale)
    {
        long total = groups * rows, rowBlocks = rows / block, colBlocks = cols / block;
        var weightAt = _data.Begin(total * cols);
        if (_data.DryRun) _data.Skip(total * cols);
        else
        {
            var bytes = new byte[rows * cols];
            for (int h = 0; h < groups; h++)
            {
                fill(h, bytes);
                _data.Write(bytes);
            }
        }
        var scales = new float[groups * rowBlocks * colBlocks];
        var scaleAt = _data.Begin(scales.Length * 4L);
        if (_data.DryRun) _data.Skip(scales.Length * 4L);
        else
        {
            for (int h = 0; h < groups; h++)
                for (long rb = 0; rb < rowBlocks; rb++)
                    for (long cb = 0; cb < colBlocks; cb++)
                        scales[(h * rowBlocks + rb) * colBlocks + cb] = scale(h, rb, cb);
            _data.Write(MemoryMarshal.AsBytes(scales.AsSpan()));
        }
        _placed[name] = weightAt;
        _placed[name + BlockScaleSuffix] = scaleAt;
        g.Initializer(OnnxTensor.ExternalData(name, OnnxDataType.Float8E4M3FN, [total, cols], weightAt));
        g.Initializer(OnnxTensor.ExternalData(name + BlockScaleSuffix, OnnxDataType.Float, [groups * rowBlocks, colBlocks], scaleAt));
        return LinearWeight.BlockFp8(name, name + BlockScaleSuffix, block);
    }

    /// <summary>
    /// A [groups * rows, cols] matrix written group by group from <paramref name="fill"/> (a group's [rows, cols]
    /// floats): float32 / bf16 (<paramref name="type"/>), or int8 / int4 (<paramref name="bits"/>) in the contract's
    /// layout with float16 group scales, scales first (each group filled twice: once per pass, as <see cref="WriteQuantized"/>).
    /// <paramref name="source"/> names the checkpoint tensor in errors.
    /// </summary>
    private LinearWeight GroupedMatrix(GraphBuilder g, string name, int groups, long rows, long cols, OnnxDataType type, int bits,
        Action<int, Span<float>> fill, string source)
    {
        long total = groups * rows;
        var floats = new float[rows * cols];
        if (bits == 0)
        {
            var location = _data.Begin(total * cols * type.ElementSize());
            if (_data.DryRun) _data.Skip(total * cols * type.ElementSize());
            else
                for (int h = 0; h < groups; h++)
                {
                    fill(h, floats);
                    if (type == OnnxDataType.Float) _data.Write(MemoryMarshal.AsBytes(floats.AsSpan()));
                    else
                    {
                        var bf = Bytes(floats.Length * 2);
                        DTypeConversion.ToBFloat16(floats, bf);
                        _data.Write(bf);
                    }
                }
            _placed[name] = location;
            g.Initializer(OnnxTensor.ExternalData(name, type, [total, cols], location));
            return type == OnnxDataType.Float ? LinearWeight.Float32(name) : LinearWeight.BFloat16(name);
        }
        const QuantizedLayout layout = QuantizedLayout.Contract;
        ExternalDataLocation Pass(bool scalesPass)
        {
            long bytes = QuantizedRowBytes(cols, bits, layout, scalesPass) * total;
            var at = _data.Begin(bytes);
            if (_data.DryRun) _data.Skip(bytes);
            else
                for (int h = 0; h < groups; h++)
                {
                    fill(h, floats);
                    WriteQuantizedRows(floats, (int)rows, cols, bits, layout, scalesPass, r => $"{source} ('{name}' group {h} row {r})");
                }
            return at;
        }
        var scaleAt = Pass(scalesPass: true);
        var weightAt = Pass(scalesPass: false);
        _placed[name + GroupScaleSuffix] = scaleAt;
        _placed[name] = weightAt;
        return ContractIntInitializers(g, name, total, cols, bits, weightAt, scaleAt);
    }

    /// <summary>
    /// The initializers of an int8 / int4 matrix [rows, cols] in the contract's layout at placed locations: the weight
    /// (int8, or uint8 nibble pairs) under <paramref name="name"/> and its float16 group scales [rows, groups] beside it.
    /// </summary>
    private LinearWeight ContractIntInitializers(GraphBuilder g, string name, long rows, long cols, int bits,
        ExternalDataLocation weightAt, ExternalDataLocation scaleAt)
    {
        int group = _policy.GroupSize;
        string scaleName = name + GroupScaleSuffix;
        g.Initializer(OnnxTensor.ExternalData(scaleName, OnnxDataType.Float16, [rows, GroupQuantizer.GroupCount(cols, group)], scaleAt));
        g.Initializer(OnnxTensor.ExternalData(name, bits == 8 ? OnnxDataType.Int8 : OnnxDataType.UInt8,
            [rows, QuantizedPacking.RowBytes(QuantizedLayout.Contract, bits, cols, group)], weightAt));
        return LinearWeight.IntDense(name, scaleName, bits, group);
    }

    /// <summary>
    /// Per-expert [rows, cols] weights stacked into one [experts, rows, cols] initializer for MoeExperts (kept in
    /// bf16 / FP8 there: the op reads them directly). FP8 adds the stacked block scales; int8 / int4 are packed in the
    /// shared contract's layout with float16 group scales [experts, rows, groups].
    /// </summary>
    public ExpertWeights Experts(GraphBuilder g, IReadOnlyList<ModelTensor> sources, string name)
    {
        if (sources.Count == 0) throw new ArgumentException($"'{name}': no experts to stack", nameof(sources));
        long rows = sources[0].Rows, cols = sources[0].Cols;
        var infos = sources.Select(s => _reader.Require(s.Name, rows, cols)).ToArray();
        var precision = _policy.Of(WeightPart.Experts);
        if (precision.IntBits() is var bits and > 0)
        {
            int group = _policy.GroupSize, groups = GroupQuantizer.GroupCount(cols, group);
            var (weightAt, scaleAt) = WriteQuantized(infos.Select(i => (i, rows)).ToArray(), cols, bits, QuantizedLayout.Contract,
                infos.Length == 1 ? infos[0].Name : null);
            var qScales = name + GroupScaleSuffix;
            g.Initializer(OnnxTensor.ExternalData(qScales, OnnxDataType.Float16, [infos.Length, rows, groups], scaleAt));
            long packedCols = QuantizedPacking.RowBytes(QuantizedLayout.Contract, bits, cols, group);
            g.Initializer(OnnxTensor.ExternalData(name, bits == 8 ? OnnxDataType.Int8 : OnnxDataType.UInt8, [infos.Length, rows, packedCols], weightAt));
            return new ExpertWeights(name, qScales, bits == 4 ? "int4" : "", group);
        }
        var scales = infos.Select(_reader.ScaleOf).ToArray();
        bool keepFp8 = precision != TargetPrecision.Fp32 && scales.All(s => s is not null);
        var type = keepFp8 ? OnnxDataType.Float8E4M3FN : precision == TargetPrecision.Fp32 ? OnnxDataType.Float : OnnxDataType.BFloat16;
        long perExpert = rows * cols * type.ElementSize();
        var location = _data.Begin(perExpert * infos.Length);
        foreach (var info in infos)
        {
            if (keepFp8) CopyRaw(info);
            else Encode(info, type, [(0, rows)], cols);
            _onTensor(info.Name, info.ByteLength);
        }
        g.Initializer(OnnxTensor.ExternalData(name, type, [infos.Length, rows, cols], location));
        if (!keepFp8) return new ExpertWeights(name, null, "", 0);

        var scaleInfos = scales.Select(s => _reader.Checkpoint.GetInfo(s!)).ToArray();
        long[] scaleShape = scaleInfos[0].Shape;
        var scaleName = name + ".scales";
        var scaleLocation = _data.Begin(ShapeMath.ElementCount(scaleShape) * 4 * infos.Length);
        foreach (var si in scaleInfos)
        {
            if (si.DType != DType.F32 || !si.Shape.AsSpan().SequenceEqual(scaleShape))
                throw new InvalidDataException($"{si.FilePath}: '{si.Name}' is {si.DType} {si.ShapeText}, expected F32 {ShapeMath.Format(scaleShape)}");
            CopyRaw(si);
        }
        g.Initializer(OnnxTensor.ExternalData(scaleName, OnnxDataType.Float, [infos.Length, scaleShape[0], scaleShape[1]], scaleLocation));
        return new ExpertWeights(name, scaleName, "", 0);
    }

    /// <summary>
    /// An FP8 linear weight kept as float8e4m3fn plus its float32 [ceil(rows/G), ceil(cols/G)] block scales, both
    /// copied unchanged, for DenseProjection, which decodes e4m3 x scale exactly as it streams the weight (no float32
    /// copy, cropped edge blocks included).
    /// </summary>
    private LinearWeight Fp8Matrix(GraphBuilder g, TensorInfo info, string scaleName, long rows, long cols)
    {
        int block = Fp8BlockSize();
        var scaleInfo = _reader.Checkpoint.GetInfo(scaleName);
        long[] scaleDims = [(rows + block - 1) / block, (cols + block - 1) / block];
        if (scaleInfo.DType != DType.F32 || !scaleInfo.Shape.AsSpan().SequenceEqual(scaleDims))
            throw new InvalidDataException($"{scaleInfo.FilePath}: '{scaleName}' is {scaleInfo.DType} {scaleInfo.ShapeText}, " +
                                           $"expected F32 {ShapeMath.Format(scaleDims)} for '{info.Name}' {info.ShapeText} in {block}x{block} blocks");
        if (!TryShared(info.Name, OnnxDataType.Float8E4M3FN, [rows, cols], out var location))
        {
            location = _data.Begin(info.ByteLength);
            CopyRaw(info);
            _onTensor(info.Name, info.ByteLength);
            _placed[info.Name] = location;
        }
        g.Initializer(OnnxTensor.ExternalData(info.Name, OnnxDataType.Float8E4M3FN, [rows, cols], location));
        if (!TryShared(scaleName, OnnxDataType.Float, scaleDims, out var scaleLocation))
        {
            scaleLocation = _data.Begin(scaleInfo.ByteLength);
            CopyRaw(scaleInfo);
            _placed[scaleName] = scaleLocation;
        }
        g.Initializer(OnnxTensor.ExternalData(scaleName, OnnxDataType.Float, scaleDims, scaleLocation));
        return LinearWeight.BlockFp8(info.Name, scaleName, block);
    }

    /// <summary>
    /// Block-FP8 parts (each a whole number of scale blocks tall, <see cref="CanConcatenate"/>) stacked as they are:
    /// their e4m3 bytes one after another under <paramref name="name"/>, their block scales likewise beside it, so the
    /// stack's block row b is exactly one part's block row.
    /// </summary>
    private LinearWeight ConcatenatedFp8Matrix(GraphBuilder g, IReadOnlyList<(TensorInfo Info, long Rows)> parts, long rows, long cols,
        string name)
    {
        int block = Fp8BlockSize();
        long scaleCols = (cols + block - 1) / block;
        var scales = parts.Select(p =>
        {
            var scaleInfo = _reader.Checkpoint.GetInfo(_reader.ScaleOf(p.Info)!);
            long[] expected = [p.Rows / block, scaleCols];
            if (scaleInfo.DType != DType.F32 || !scaleInfo.Shape.AsSpan().SequenceEqual(expected))
                throw new InvalidDataException($"{scaleInfo.FilePath}: '{scaleInfo.Name}' is {scaleInfo.DType} {scaleInfo.ShapeText}, " +
                                               $"expected F32 {ShapeMath.Format(expected)} for '{p.Info.Name}' {p.Info.ShapeText} in {block}x{block} blocks");
            return scaleInfo;
        }).ToArray();
        var location = _data.Begin(parts.Sum(p => p.Info.ByteLength));
        foreach (var (info, _) in parts)
        {
            CopyRaw(info);
            _onTensor(info.Name, info.ByteLength);
        }
        _placed[name] = location;
        g.Initializer(OnnxTensor.ExternalData(name, OnnxDataType.Float8E4M3FN, [rows, cols], location));
        string scaleName = name + BlockScaleSuffix;
        var scaleLocation = _data.Begin(scales.Sum(s => s.ByteLength));
        foreach (var scaleInfo in scales) CopyRaw(scaleInfo);
        _placed[scaleName] = scaleLocation;
        g.Initializer(OnnxTensor.ExternalData(scaleName, OnnxDataType.Float, [rows / block, scaleCols], scaleLocation));
        return LinearWeight.BlockFp8(name, scaleName, block);
    }

    /// <summary>
    /// The checkpoint's FP8 block size as DenseProjection's <c>quant_block_size</c>: the op takes square blocks whose
    /// side is a multiple of 8 (GLM-5.x ships [128, 128]); other shapes are refused by name rather than dequantised in
    /// the graph.
    /// </summary>
    private int Fp8BlockSize()
    {
        if (SquareFp8Blocks(out int block)) return block;
        var q = _reader.Checkpoint.Config.Quantization;
        int blockRows = q?.BlockRows ?? 128, blockCols = q?.BlockCols ?? 128;
        throw new NotSupportedException(
            $"{Path.Combine(_reader.Checkpoint.Directory, GlmCheckpoint.ConfigFileName)}: quantization_config.weight_block_size " +
            $"[{blockRows}, {blockCols}] cannot be kept FP8: DenseProjection reads square blocks whose side is a multiple of 8; " +
            "convert with --precision fp32, int8 or int4 (or that part's override), which dequantise it");
    }

    private void WriteTensor(GraphBuilder g, TensorInfo info, string name, OnnxDataType type, long[] dims,
        IReadOnlyList<(long Start, long Count)> rowRanges, long cols)
    {
        if (!TryShared(name, type, dims, out var location))
        {
            location = _data.Begin(ShapeMath.ElementCount(dims) * type.ElementSize());
            Encode(info, type, rowRanges, cols);
            _onTensor(info.Name, info.ByteLength);
            _placed[name] = location;
        }
        g.Initializer(OnnxTensor.ExternalData(name, type, dims, location));
    }

    /// <summary>Writes row ranges of a source tensor as <paramref name="type"/>, chunk by chunk.</summary>
    private void Encode(TensorInfo info, OnnxDataType type, IReadOnlyList<(long Start, long Count)> rowRanges, long cols)
    {
        if (_data.DryRun)
        {
            _data.Skip(rowRanges.Sum(r => r.Count) * cols * type.ElementSize());
            return;
        }
        bool passthrough = _reader.ScaleOf(info) is null &&
            ((info.DType == DType.F32 && type == OnnxDataType.Float) || (info.DType == DType.BF16 && type == OnnxDataType.BFloat16));
        int rowsPerChunk = (int)Math.Max(1, Math.Min(ChunkElements / cols, int.MaxValue));
        foreach (var (start, count) in rowRanges)
        {
            for (long r = start; r < start + count; r += rowsPerChunk)
            {
                int n = (int)Math.Min(rowsPerChunk, start + count - r);
                int elements = checked((int)(n * cols));
                if (passthrough)
                {
                    var raw = Bytes(elements * type.ElementSize());
                    _reader.ReadBytes(info, r * cols * type.ElementSize(), raw);
                    _data.Write(raw);
                    continue;
                }
                var floats = Floats(elements);
                _reader.ReadRowsFloat32(info, r, n, floats);
                if (type == OnnxDataType.Float)
                {
                    _data.Write(MemoryMarshal.AsBytes(floats));
                }
                else if (type == OnnxDataType.BFloat16)
                {
                    var bf = Bytes(elements * 2);
                    DTypeConversion.ToBFloat16(floats, bf);
                    _data.Write(bf);
                }
                else
                {
                    throw new InvalidOperationException($"tensor '{info.Name}': cannot encode to {type.OnnxName()}");
                }
            }
        }
    }

    /// <summary>Copies a tensor's bytes unchanged (FP8 weights and their float32 scales).</summary>
    private void CopyRaw(TensorInfo info)
    {
        if (_data.DryRun)
        {
            _data.Skip(info.ByteLength);
            return;
        }
        for (long offset = 0; offset < info.ByteLength; offset += ChunkElements * 4L)
        {
            var chunk = Bytes((int)Math.Min(ChunkElements * 4L, info.ByteLength - offset));
            _reader.ReadBytes(info, offset, chunk);
            _data.Write(chunk);
        }
    }

    private Span<float> Floats(int count)
    {
        if (_floats.Length < count) _floats = new float[count];
        return _floats.AsSpan(0, count);
    }

    private Span<byte> Bytes(int count)
    {
        if (_bytes.Length < count) _bytes = new byte[count];
        return _bytes.AsSpan(0, count);
    }
}
