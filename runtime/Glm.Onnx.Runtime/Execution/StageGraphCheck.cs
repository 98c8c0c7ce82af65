using Glm.Onnx.Contracts.Stages;
using Microsoft.ML.OnnxRuntime;

namespace Glm.Onnx.Runtime.Execution;

/// <summary>
/// Checks a loaded stage graph against its <see cref="StageContract"/>: every required input and every output is
/// declared, with the contract's element type and rank, and the contract's fixed sizes (hidden size, vocabulary,
/// top-k, pool widths) where the graph fixes them too. A symbolic dimension on either side matches any size.
/// </summary>
internal static class StageGraphCheck
{
    public static void Check(StageContract contract, InferenceSession session, int stage, string path)
    {
        var declared = session.InputMetadata;
        var missing = contract.Inputs.Where(t => !t.Optional && !declared.ContainsKey(t.Name)).Select(t => t.Name).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException(
                $"Stage {stage} ('{path}') lacks the contract inputs {string.Join(", ", missing)} (docs/onnx-contract.md, Stage graphs); " +
                $"it declares {string.Join(", ", declared.Keys)}.");
        foreach (var input in contract.Inputs)
            if (declared.TryGetValue(input.Name, out var metadata))
                CheckTensor(input, metadata, $"Stage {stage} ('{path}'): input");
        foreach (var output in contract.Outputs)
        {
            if (!session.OutputMetadata.TryGetValue(output.Name, out var metadata))
                throw new InvalidDataException($"Stage {stage} ('{path}') has no output '{output.Name}'.");
            CheckTensor(output, metadata, $"Stage {stage} ('{path}'): output");
        }
    }

    private static void CheckTensor(StageTensor expected, NodeMetadata actual, string where)
    {
        if (!actual.IsTensor || (int)actual.ElementDataType != (int)expected.ElementType)
            throw new InvalidDataException(
                $"{where} '{expected.Name}' is {(actual.IsTensor ? actual.ElementDataType.ToString() : actual.OnnxValueType.ToString())}, " +
                $"the contract says {expected} (docs/onnx-contract.md, Stage graphs).");
        var dims = actual.Dimensions;
        bool matches = dims.Length == expected.Shape.Count;
        int axis = 0;
        for (; matches && axis < dims.Length; axis++)
            matches = expected.Shape[axis].IsSymbolic || dims[axis] < 0 || dims[axis] == expected.Shape[axis].Value;
        if (!matches)
        {
            // A fixed size that disagrees came from a manifest field: name it, since the manifest is what is wrong
            // when it was edited or belongs to other graphs.
            var cause = dims.Length == expected.Shape.Count && expected.Shape[axis - 1] is { Field: { } field } dim
                ? $"glm-model.json's {field} is {dim.Value}, but " : "";
            var shape = dims.Select((d, i) => d >= 0 ? d.ToString(System.Globalization.CultureInfo.InvariantCulture)
                : actual.SymbolicDimensions.ElementAtOrDefault(i) is { Length: > 0 } s ? s : "?");
            throw new InvalidDataException(
                $"{cause}{where} '{expected.Name}' has shape [{string.Join(", ", shape)}], the contract says {expected.ShapeText} " +
                "(from glm-model.json's dimensions and cache layout; docs/onnx-contract.md, Stage graphs).");
        }
    }
}
