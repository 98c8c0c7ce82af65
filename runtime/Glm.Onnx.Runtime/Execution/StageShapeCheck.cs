using Glm.Onnx.Contracts;
using Glm.Onnx.Contracts.Manifest;

namespace Glm.Onnx.Runtime.Execution;

/// <summary>
/// The manifest's vocab_size and hidden_size against what the stage graphs declare, at load: a mismatch used to
/// surface as an ONNX Runtime exception (and a stack trace) on the first generated token.
/// </summary>
internal static class StageShapeCheck
{
    public static void Verify(IReadOnlyList<StageSession> stages, ModelDimensions dimensions, string directory)
    {
        foreach (var stage in stages)
        {
            var s = stage.Stage;
            if (s.ProducesLogits)
                Expect(stage, GraphNames.Logits, 1, dimensions.VocabSize, "vocab_size", directory);
            else
                Expect(stage, GraphNames.HiddenStatesOut, 1, dimensions.HiddenSize, "hidden_size", directory);
            if (!s.EmbedsTokens)
                Expect(stage, GraphNames.HiddenStates, 1, dimensions.HiddenSize, "hidden_size", directory);
        }
    }

    private static void Expect(StageSession stage, string tensor, int axis, int expected, string field, string directory)
    {
        if (stage.DeclaredDimension(tensor, axis) is { } declared && declared != expected)
            throw new InvalidDataException(
                $"{Path.Combine(directory, ModelManifest.FileName)}: dimensions.{field} is {expected}, but stage {stage.Stage.Index} " +
                $"('{stage.Stage.File}') declares '{tensor}' with {declared} on axis {axis}; the manifest does not describe these graphs.");
    }
}
