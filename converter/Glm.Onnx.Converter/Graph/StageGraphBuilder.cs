using Glm.Onnx.Checkpoint;
using Glm.Onnx.Contracts;
using Glm.Onnx.Contracts.Stages;
using Glm.Onnx.Converter.Onnx;
using Glm.Onnx.Converter.Weights;

namespace Glm.Onnx.Converter.Graph;

/// <summary>
/// Builds one stage graph of a GLM-5.x (glm_moe_dsa) model: the order of operations (docs/architecture.md). Weight
/// names and shapes come from the config's <see cref="ModelTensors"/> description. Follows docs/onnx-contract.md
/// "Stage graphs"; intermediates are named <c>layers.{i}.{block}.{what}</c>. Weights stream through
/// <see cref="WeightWriter"/> as nodes are added.
/// </summary>
public sealed class StageGraphBuilder
{
    /// <summary>q_a_layernorm / kv_a_layernorm are built without eps in transformers: the RMSNorm default 1e-6.</summary>
    private const float LatentNormEps = 1e-6f;

    /// <summary>The indexer's k_norm is a LayerNorm (with bias) at eps 1e-6.</summary>
    private const float IndexerNormEps = 1e-6f;

    private readonly GlmConfig _c;
    private readonly ModelTensors _t;
    private readonly WeightWriter _w;
    private readonly StageSpec _s;
    private readonly StageContract _contract;
    private readonly GraphBuilder _g;
    private string _cu = "", _past = "", _blockTable = "";
    private RopeTables _rope = new("", "");
    private string? _embeddingTable;
    private OnnxDataType _embeddingType;

    /// <param name="contract">The stage's graph inputs and outputs (<see cref="StageContract.For"/> of its manifest entry).</param>
    public StageGraphBuilder(GlmConfig config, WeightWriter weights, StageSpec stage, StageContract contract)
    {
        if (config.Rope.RopeType != "default")
            throw new NotSupportedException($"config.json rope_parameters.rope_type '{config.Rope.RopeType}' is not supported (GLM-5.x uses 'default')");
        _c = config;
        _t = ModelTensors.For(config);
        _w = weights;
        _s = stage;
        _contract = contract;
        _g = new GraphBuilder($"glm-stage-{stage.Index}");
    }

    public OnnxModel Build()
    {
        var h = DeclareInputs();
        BuildRope();
        string? topk = _s.TakesPrevTopk ? GraphNames.PrevTopkIndices : null;
        // The residual stream is carried as (resid, delta) = resid + delta so that each add fuses into the next norm.
        string? delta = null;
        for (int layer = _s.FirstLayer; layer < _s.EndLayer; layer++)
            (h, delta) = Layer(layer, h, delta, ref topk);
        if (_s.IsMtp) Head(h, delta, _t.Layer(_s.FirstLayer).Mtp!.SharedHeadNorm, "mtp.shared_head");
        else if (_s.IsLast) Head(h, delta, _t.Norm, "final");
        else _g.Op("Identity", GraphNames.HiddenStatesOut, [delta is null ? h : _g.Op("Add", $"layers.{_s.EndLayer - 1}.out", [h, delta])]);
        if (_s.EmitsTopk || _s.IsMtp)
        {
            if (topk is null) throw new InvalidOperationException($"stage {_s.Index} must emit top-k indices but has no indexer selection");
            _g.Op("Identity", GraphNames.TopkIndicesOut, [topk]);
        }
        foreach (var output in _contract.Outputs)
            _g.Output(output.Name, (OnnxDataType)output.ElementType, Dims(output));
        return new OnnxModel(_g.Build(), [new OnnxOpset("", 19), new OnnxOpset(CustomOpNames.Domain, CustomOpNames.DomainVersion),
                new OnnxOpset(GraphOps.MicrosoftDomain, 1)],
            "glm-convert", ConverterInfo.Version);
    }

    /// <summary>Declares the contract's inputs, in its order; returns the stream entering the first layer.</summary>
    private string DeclareInputs()
    {
        foreach (var input in _contract.Inputs)
            _g.Input(input.Name, (OnnxDataType)input.ElementType, Dims(input));
        (_cu, _past, _blockTable) = (GraphNames.CumulativeSequenceLengths, GraphNames.PastSequenceLengths, GraphNames.BlockTable);
        string h;
        if (_s.IsMtp)
        {
            h = MtpInput();
        }
        else if (_s.IsFirst)
        {
            var ids = GraphNames.InputIds;
            (_embeddingTable, _embeddingType) = _w.Table(_g, _t.EmbedTokens);
            h = _g.Op("Gather", "embed.rows", [_embeddingTable, ids], OnnxAttribute.Int("axis", 0));
            if (_embeddingType != OnnxDataType.Float)
                h = _g.Op("Cast", "embed.out", [h], OnnxAttribute.Int("to", (long)OnnxDataType.Float));
        }
        else
        {
            h = GraphNames.HiddenStates;
        }
        return h;
    }

    /// <summary>
    /// The MTP layer's input rows: eh_proj(concat[enorm(E[input_ids]), hnorm(hidden_states)]), embedding first
    /// (docs/architecture.md, "MTP"). Row t takes token t+1 and the main model's h_t after the final norm. The
    /// embedding table is the main model's (its bytes shared, not copied); no row's embedding is zeroed.
    /// </summary>
    private string MtpInput()
    {
        var m = _t.Layer(_s.FirstLayer).Mtp ?? throw new InvalidOperationException($"layer {_s.FirstLayer} is not an MTP layer");
        float eps = (float)_c.RmsNormEps;
        (_embeddingTable, _embeddingType) = _w.Table(_g, _t.EmbedTokens);
        var e = _g.Op("Gather", "mtp.embed.rows", [_embeddingTable, GraphNames.InputIds], OnnxAttribute.Int("axis", 0));
        if (_embeddingType != OnnxDataType.Float)
            e = _g.Op("Cast", "mtp.embed.out", [e], OnnxAttribute.Int("to", (long)OnnxDataType.Float));
        var eNorm = GraphOps.RmsNorm(_g, e, _w.Vector(_g, m.ENorm), eps, "mtp.enorm");
        var hNorm = GraphOps.RmsNorm(_g, GraphNames.HiddenStates, _w.Vector(_g, m.HNorm), eps, "mtp.hnorm");
        var both = _g.Op("Concat", "mtp.eh_in", [eNorm, hNorm], OnnxAttribute.Int("axis", 1));
        return GraphOps.Linear(_g, both, _w.Matrix(_g, m.EhProj), "mtp.eh_proj");
    }

    /// <summary>
    /// The selection the MTP layer attends with: prev_topk_indices when it has a row per token (a later draft step
    /// reusing the first step's top-k, index_share_for_mtp_iteration), else the layer's own indexer selection
    /// (prev_topk_indices with 0 rows). The first T rows of [prev; own] are exactly that, with no control flow.
    /// </summary>
    private string MtpSelection(int layer, string own)
    {
        string L = $"layers.{layer}.indexer";
        var both = _g.Op("Concat", L + ".prev_then_own", [GraphNames.PrevTopkIndices, own], OnnxAttribute.Int("axis", 0));
        var tokens = _g.Op("Shape", L + ".token_count", [own], OnnxAttribute.Int("end", 1));
        return _g.Op("Slice", L + ".selection", [both, _g.Int64s(0), tokens, _g.Int64s(0)]);
    }

    private static OnnxDim[] Dims(StageTensor tensor) =>
        tensor.Shape.Select(d => d.Symbol is { } symbol ? (OnnxDim)symbol : d.Value).ToArray();

    /// <summary>
    /// cos / sin of pos * inv_freq, one row per token [T, rope_dim / 2], computed once for every rotation of the stage:
    /// the rope tables of its LightningIndexer and SparseMlaAttention nodes, which rotate interleaved (GPT-J) pairs.
    /// </summary>
    private void BuildRope()
    {
        int half = _c.QkRopeHeadDim / 2;
        var invFreq = new float[half];
        float theta = (float)_c.Rope.RopeTheta;
        // float32 arithmetic as transformers: 1 / theta^(2i / dim).
        for (int i = 0; i < half; i++) invFreq[i] = 1f / MathF.Pow(theta, (2f * i) / _c.QkRopeHeadDim);
        var inv = _g.Initializer(OnnxTensor.Float("rope.inv_freq", [half], invFreq));
        var posF = _g.Op("Cast", "rope.positions_f32", [GraphNames.Positions], OnnxAttribute.Int("to", (long)OnnxDataType.Float));
        var posCol = _g.Op("Unsqueeze", "rope.positions_col", [posF, _g.Int64s(1)]);
        var angles = _g.Op("Mul", "rope.angles", [posCol, inv]);
        _rope = new RopeTables(_g.Op("Cos", "rope.cos", [angles]), _g.Op("Sin", "rope.sin", [angles]));
    }

    /// <summary>One decoder layer on the stream resid + delta (delta null: the stream is resid); returns the new pair.</summary>
    private (string Resid, string Delta) Layer(int layer, string resid, string? delta, ref string? topk)
    {
        string L = $"layers.{layer}";
        var w = _t.Layer(layer);
        var a = w.Attention;
        float eps = (float)_c.RmsNormEps;
        int nh = _c.NumAttentionHeads, dn = _c.QkNopeHeadDim, dr = _c.QkRopeHeadDim, dv = _c.VHeadDim;
        int qk = _c.QkHeadDim, r = _c.KvLoraRank;

        var attnNormW = _w.Vector(_g, w.InputLayerNorm);
        string h, x;
        if (delta is null) (h, x) = (resid, GraphOps.RmsNorm(_g, resid, attnNormW, eps, L + ".attn_norm"));
        else (x, h) = GraphOps.AddRmsNorm(_g, delta, resid, attnNormW, eps, L + ".attn_norm", $"layers.{layer - 1}.out");

        // Every projection of the normed input (q_a, kv_a with its rope part, and the indexer's k and head weights)
        // in one node where their weights stack. q_resid also feeds the indexer.
        var xParts = new List<ProjectionPart>
        {
            new(a.QAProj, [(L + ".attn.q_a", a.QAProj.Rows)]),
            new(a.KvAProjWithMqa, [(L + ".attn.kv_raw", r), (L + ".attn.k_rot", dr)]),
        };
        if (w.Indexer is { } ix)
        {
            xParts.Add(new(ix.Wk, [($"layers.{layer}.indexer.k", ix.Wk.Rows)]));
            xParts.Add(new(ix.WeightsProj, [($"layers.{layer}.indexer.head_weights_raw", ix.WeightsProj.Rows)]));
        }
        var xOut = Projections(x, xParts, L + ".attn.x_proj");
        var qA = xOut[0];
        var qResid = GraphOps.RmsNorm(_g, qA, _w.Vector(_g, a.QALayerNorm), LatentNormEps, L + ".attn.q_resid");
        var q = GraphOps.Linear(_g, qResid, _w.Matrix(_g, a.QBProj), L + ".attn.q");
        var qHeads = _g.Op("Reshape", L + ".attn.q_heads", [q, _g.Int64s(0, nh, qk)]);
        // q_rot and k_rot go to the attention unrotated, with the stage's rope tables: the op rotates them.
        var qParts = _g.Node("Split", [L + ".attn.q_nope", L + ".attn.q_rot"], [qHeads, _g.Int64s(dn, dr)], "", OnnxAttribute.Int("axis", 2));
        var latent = GraphOps.RmsNorm(_g, xOut[1], _w.Vector(_g, a.KvALayerNorm), LatentNormEps, L + ".attn.kv_latent");

        // Absorbed MLA: q_latent[t, h] = W_UK[h]^T q_nope[t, h], one group per head: [T, nh, dn] -> [T, nh * r].
        var (wUkT, wUv) = _w.AbsorbedKvB(_g, a.KvBProj, L + ".attn.kv_b", nh, dn, dv);
        var qLatent = GraphOps.GroupedLinear(_g, qParts[0], wUkT, nh, L + ".attn.q_latent");

        if (w.Indexer is { } indexer)
        {
            topk = Indexer(layer, indexer, qResid, xOut[3], xOut[4]);
            if (w.Mtp is not null) topk = MtpSelection(layer, topk);
        }
        else if (topk is null)
            throw new InvalidOperationException($"layer {layer} is an IndexShare 'shared' layer but no full indexer layer precedes it");

        var attn = _g.Node(CustomOpNames.SparseMlaAttention, [L + ".attn.latent_out"],
            [qLatent, qParts[1], latent, xOut[2], GraphNames.LatentPool(layer), _cu, _past, _blockTable, topk, _rope.Cos, _rope.Sin],
            CustomOpNames.Domain, OnnxAttribute.Float("softmax_scale", 1f / MathF.Sqrt(qk)))[0];
        // o[t, h] = W_UV[h] o_latent[t, h], one group per head: [T, nh, r] -> [T, nh * dv], o_proj's input as it is.
        var v = GraphOps.GroupedLinear(_g, attn, wUv, nh, L + ".attn.v");
        var o = GraphOps.Linear(_g, v, _w.Matrix(_g, a.OProj), L + ".attn.out");
        var (x2, h1) = GraphOps.AddRmsNorm(_g, o, h, _w.Vector(_g, w.PostAttentionLayerNorm), eps,
            L + ".mlp_norm", L + ".attn_residual");
        var m = w.Mlp is { } dense ? SwiGlu(x2, dense, L + ".mlp") : Moe(layer, w.Moe!, x2);
        return (h1, m);
    }

    /// <summary>A projection of a shared input: its weight and the named column ranges its output splits into.</summary>
    private sealed record ProjectionPart(ModelTensor Weight, (string Name, long Width)[] Pieces);

    /// <summary>
    /// Projections that read the same input, as ONE projection over their row-stacked weights followed by one Split
    /// (one call and its fixed per-node cost at decode instead of one per part); where the weights cannot be stored
    /// as one matrix (<see cref="WeightWriter.CanConcatenate"/>), one projection each. Returns the pieces' names.
    /// </summary>
    private IReadOnlyList<string> Projections(string x, IReadOnlyList<ProjectionPart> parts, string name)
    {
        var pieces = parts.SelectMany(p => p.Pieces).ToArray();
        var weights = parts.Select(p => p.Weight).ToArray();
        if (_w.CanConcatenate(weights))
        {
            var y = GraphOps.Linear(_g, x, _w.ConcatenatedMatrix(_g, weights, name), name + ".out");
            return _g.Node("Split", pieces.Select(p => p.Name).ToArray(), [y, _g.Int64s(pieces.Select(p => p.Width).ToArray())], "",
                OnnxAttribute.Int("axis", 1));
        }
        var names = new List<string>();
        foreach (var part in parts)
        {
            if (part.Pieces.Length == 1)
            {
                names.Add(GraphOps.Linear(_g, x, _w.Matrix(_g, part.Weight), part.Pieces[0].Name));
                continue;
            }
            var y = GraphOps.Linear(_g, x, _w.Matrix(_g, part.Weight), part.Pieces[0].Name + ".in");
            names.AddRange(_g.Node("Split", part.Pieces.Select(p => p.Name).ToArray(), [y, _g.Int64s(part.Pieces.Select(p => p.Width).ToArray())], "",
                OnnxAttribute.Int("axis", 1)));
        }
        return names.ToArray();
    }

    /// <summary>
    /// SiLU(gate) * up, then down (dense MLPs and the shared experts), plus <paramref name="addend"/> when given (the
    /// routed experts' sum; the result is then named <paramref name="sumName"/>). Gate and up as one projection where
    /// their weights stack; with a DenseProjection down projection reading that directly (one node for the
    /// activation, the projection and the addend), else Split, the activation nodes, the projection and an Add.
    /// </summary>
    private string SwiGlu(string x, MlpTensors w, string prefix, string? addend = null, string? sumName = null)
    {
        ModelTensor[] stacked = [w.GateProj, w.UpProj];
        string gate, up;
        LinearWeight down;
        if (_w.CanConcatenate(stacked))
        {
            var gateUp = GraphOps.Linear(_g, x, _w.ConcatenatedMatrix(_g, stacked, prefix + ".gate_up"), prefix + ".gate_up.out");
            down = _w.Matrix(_g, w.DownProj);
            if (down.Kernel == LinearKernel.DenseProjection)
                return GraphOps.SwiGluDenseProjection(_g, gateUp, down, addend, addend is null ? prefix + ".down" : sumName ?? prefix + ".sum");
            var halves = _g.Node("Split", [prefix + ".gate", prefix + ".up"], [gateUp, _g.Int64s(w.GateProj.Rows, w.UpProj.Rows)], "",
                OnnxAttribute.Int("axis", 1));
            (gate, up) = (halves[0], halves[1]);
        }
        else
        {
            gate = GraphOps.Linear(_g, x, _w.Matrix(_g, w.GateProj), prefix + ".gate");
            up = GraphOps.Linear(_g, x, _w.Matrix(_g, w.UpProj), prefix + ".up");
            down = _w.Matrix(_g, w.DownProj);
        }
        var y = GraphOps.SwiGluDown(_g, gate, up, down, prefix);
        return addend is null ? y : _g.Op("Add", sumName ?? prefix + ".sum", [addend, y]);
    }

    /// <summary>DSA lightning indexer of a full layer: returns the top-k selection tensor.</summary>
    /// <param name="k">The indexer's key projection of the layer input (wk), computed with the layer's other input projections.</param>
    /// <param name="wRaw">Its per-head weights before scaling (weights_proj), likewise.</param>
    private string Indexer(int layer, IndexerTensors w, string qResid, string k, string wRaw)
    {
        string L = $"layers.{layer}.indexer";
        int n = _c.IndexNHeads, d = _c.IndexHeadDim;
        // q [T, n * d] and the normed k go in unrotated, with the rope tables: the op rotates the FIRST
        // qk_rope_head_dim dims of each head (MLA's rope part is the last), the rest pass through.
        var q = GraphOps.Linear(_g, qResid, _w.Matrix(_g, w.WqB), L + ".q");
        var kNorm = _g.Op("LayerNormalization", L + ".k_norm", [k, _w.Vector(_g, w.KNorm), _w.Vector(_g, w.KNormBias)],
            OnnxAttribute.Int("axis", -1), OnnxAttribute.Float("epsilon", IndexerNormEps));

        // The reference scales the head weights by n^-0.5; since score = sum_h w_h * ReLU(scale * q_h . k) is linear in
        // both, that factor joins the op's scale instead of costing a Mul node per layer.
        return _g.Node(CustomOpNames.LightningIndexer, [L + ".topk"],
            [q, kNorm, wRaw, GraphNames.IndexPool(layer), _cu, _past, _blockTable, _rope.Cos, _rope.Sin], CustomOpNames.Domain,
            OnnxAttribute.Int("index_topk", _c.IndexTopK), OnnxAttribute.Float("scale", 1f / MathF.Sqrt(d) / MathF.Sqrt(n)))[0];
    }

    private string Moe(int layer, MoeTensors w, string x)
    {
        string L = $"layers.{layer}.moe";
        var logits = GraphOps.Linear(_g, x, _w.Matrix(_g, w.Gate, forceFloat32: true), L + ".router_logits");
        var bias = _w.Vector(_g, w.EScoreCorrectionBias);
        var routing = _g.Node(CustomOpNames.MoeRouting, [L + ".expert_ids", L + ".expert_weights"], [logits, bias], CustomOpNames.Domain,
            OnnxAttribute.Int("top_k", _c.NumExpertsPerTok), OnnxAttribute.Int("n_group", _c.NGroup),
            OnnxAttribute.Int("topk_group", _c.TopkGroup), OnnxAttribute.Int("norm_topk_prob", _c.NormTopkProb ? 1 : 0),
            OnnxAttribute.Float("routed_scaling_factor", (float)_c.RoutedScalingFactor));

        // The shared expert runs as one more expert of the stacks where it can (every token, weight 1): in MoeExperts'
        // parallel sections instead of two projection nodes of its own.
        var shared = w.SharedExperts;
        bool stackShared = shared is not null && _w.CanStackWithExperts(shared, w.Experts.All().First());
        var experts = stackShared ? w.Experts.All().Append(shared!) : w.Experts.All();
        ModelTensor[] Stack(Func<MlpTensors, ModelTensor> proj) => experts.Select(proj).ToArray();
        var gate = _w.Experts(_g, Stack(e => e.GateProj), L + ".experts.gate");
        var up = _w.Experts(_g, Stack(e => e.UpProj), L + ".experts.up");
        var down = _w.Experts(_g, Stack(e => e.DownProj), L + ".experts.down");
        string[] inputs = gate.Scales is null
            ? [x, routing[0], routing[1], gate.Weights, up.Weights, down.Weights]
            : [x, routing[0], routing[1], gate.Weights, up.Weights, down.Weights, gate.Scales, up.Scales!, down.Scales!];
        // int8 / int4 experts name their format and group size (the shared weight-format contract, docs/artifacts.md);
        // float and FP8 experts keep the op's defaults.
        var attributes = new List<OnnxAttribute>();
        if (gate.GroupSize != 0)
            attributes.AddRange([OnnxAttribute.Int("quant_block_size", gate.GroupSize), OnnxAttribute.String("weight_format", gate.WeightFormat)]);
        if (stackShared) attributes.Add(OnnxAttribute.Int("shared_experts", 1));
        var routed = _g.Node(CustomOpNames.MoeExperts, [L + (shared is null || stackShared ? ".out" : ".routed")], inputs,
            CustomOpNames.Domain, attributes.ToArray())[0];
        if (shared is null || stackShared) return routed;

        return SwiGlu(x, shared, L + ".shared", addend: routed, sumName: L + ".out");
    }

    /// <summary>
    /// Final norm (the main model's, or the MTP layer's shared_head.norm) and lm_head on the rows the runtime asks for
    /// (logits_indices); the normed rows are also final_hidden when the contract lists it. With a pending delta the
    /// last residual add is fused into the norm (one SkipSimplifiedLayerNormalization over every row, then the Gather:
    /// one node fewer per step than Add, Gather, norm; the extra rows it normalizes in a prefill chunk cost ~T x hidden
    /// flops, nothing beside the layers).
    /// </summary>
    private void Head(string h, string? delta, ModelTensor norm, string prefix)
    {
        var weight = _w.Vector(_g, norm);
        float eps = (float)_c.RmsNormEps;
        string normed;
        if (delta is null)
        {
            var selected = _g.Op("Gather", prefix + ".selected", [h, GraphNames.LogitsIndices], OnnxAttribute.Int("axis", 0));
            normed = GraphOps.RmsNorm(_g, selected, weight, eps, prefix + ".norm");
        }
        else
        {
            var all = GraphOps.AddRmsNorm(_g, delta, h, weight, eps, prefix + ".norm_all", sumName: null).Normed;
            normed = _g.Op("Gather", prefix + ".norm", [all, GraphNames.LogitsIndices], OnnxAttribute.Int("axis", 0));
        }
        if (_contract.Outputs.Any(o => o.Kind == StageTensorKind.FinalHidden))
            _g.Op("Identity", GraphNames.FinalHidden, [normed]);
        LinearWeight head;
        if (_c.TieWordEmbeddings)
        {
            // A tied head is the embedding table as stored (float32 or bf16, read by DenseProjection): the same
            // initializer as the lookup when this stage embeds, else the table written again for this stage.
            if (_embeddingTable is null) (_embeddingTable, _embeddingType) = _w.Table(_g, _t.EmbedTokens);
            head = _embeddingType == OnnxDataType.Float ? LinearWeight.Float32(_embeddingTable) : LinearWeight.BFloat16(_embeddingTable);
        }
        else
        {
            head = _w.Matrix(_g, _t.OutputProjection);
        }
        // A float32 head by DenseProjection, not Gemm: it only ever sees the logits rows (one per sequence), where
        // DenseProjection's float32 decode kernel reads the weights faster.
        if (head.Kernel == LinearKernel.Gemm) head = LinearWeight.Float32Dense(head.Weight);
        GraphOps.Linear(_g, normed, head, GraphNames.Logits);
    }
}
