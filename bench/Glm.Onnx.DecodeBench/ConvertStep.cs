using System.Diagnostics;
using Glm.Onnx.Converter;
using Glm.Onnx.Converter.Conversion;

namespace Glm.Onnx.DecodeBench;

/// <summary>Converts a checkpoint at one precision unless the output already holds a finished conversion.</summary>
internal static class ConvertStep
{
    public static int Run(string checkpoint, string output, string precisionName)
    {
        var precision = TargetPrecisionNames.Parse(precisionName);
        if (File.Exists(Path.Combine(output, Glm.Onnx.Contracts.Manifest.ModelManifest.FileName)))
        {
            Console.WriteLine($"reusing {output} ({precision.Name()})");
            return 0;
        }
        var clock = Stopwatch.StartNew();
        ModelConverter.Convert(new ConvertOptions(checkpoint, output) { Precision = precision, Force = true }, SilentProgress.Instance);
        Console.WriteLine($"converted {checkpoint} -> {output} ({precision.Name()}) in {clock.Elapsed.TotalSeconds:F1} s");
        return 0;
    }
}
