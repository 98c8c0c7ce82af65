using Glm.Onnx.Checkpoint;
using Glm.Onnx.Converter.Graph;

namespace Glm.Onnx.Converter.Conversion;

/// <summary>Splits the decoder layers into contiguous stages and works out the IndexShare hand-over at each cut.</summary>
public static class StagePlanner
{
    public static IReadOnlyList<StageSpec> Split(GlmConfig config, ConvertOptions options)
    {
        int layers = config.NumHiddenLayers;
        IReadOnlyList<int> sizes;
        if (options.StageLayers is { Count: > 0 } explicitSizes)
        {
            if (explicitSizes.Any(s => s <= 0) || explicitSizes.Sum() != layers)
                throw new ArgumentException($"--stage-layers {string.Join(",", explicitSizes)} must be positive and sum to num_hidden_layers = {layers}");
            sizes = explicitSizes;
        }
        else
        {
            int per = options.LayersPerStage ?? layers;
            if (per <= 0) throw new ArgumentException($"--layers-per-stage must be positive, got {per}");
            var list = new List<int>();
            for (int first = 0; first < layers; first += per) list.Add(Math.Min(per, layers - first));
            sizes = list;
        }

        var stages = new List<StageSpec>();
        int start = 0;
        for (int i = 0; i < sizes.Count; i++)
        {
            int end = start + sizes[i];
            bool takesPrev = config.IndexerTypes[start] == IndexerType.Shared;
            if (takesPrev && start == 0)
                throw new InvalidDataException("config.json: layer 0 is an IndexShare 'shared' layer, but no full indexer layer precedes it");
            bool emits = end < layers && config.IndexerTypes[end] == IndexerType.Shared;
            bool last = i == sizes.Count - 1;
            stages.Add(new StageSpec(i, start, sizes[i], i == 0, last, takesPrev, emits, EmitsFinalHidden: last && config.NumNextnPredictLayers > 0));
            start = end;
        }
        if (config.NumNextnPredictLayers > 1)
            throw new NotSupportedException(
                $"config.json num_nextn_predict_layers is {config.NumNextnPredictLayers}: this converter builds one MTP stage (GLM-5.x has one MTP layer)");
        if (config.NumNextnPredictLayers == 1)
            // The MTP layer embeds its own tokens and produces its own logits (with the main model's tables).
            stages.Add(new StageSpec(sizes.Count, layers, 1, IsFirst: true, IsLast: true, TakesPrevTopk: false, EmitsTopk: false, IsMtp: true));
        return stages;
    }
}
