using System.CommandLine;
using Glm.Onnx.Checkpoint;

namespace Glm.Onnx.ConvertCli;

/// <summary><c>glm-convert inspect &lt;checkpoint-dir&gt; [--json]</c>: config + headers report; exit 1 when incomplete or invalid.</summary>
public static class InspectCommand
{
    /// <summary>The command, for <c>root.Subcommands.Add</c>.</summary>
    public static Command Create()
    {
        var dir = new Argument<string>("checkpoint-dir") { Description = "Hugging Face checkpoint directory (config.json + safetensors), or an artifacts directory (prints its precisions)" };
        var json = new Option<bool>("--json") { Description = "print one JSON object instead of the text report" };
        var command = new Command("inspect", "Report parameters, layer maps, KV-cache size and completeness of a checkpoint (reads headers only)")
        {
            dir, json,
        };
        command.SetAction(parse =>
        {
            string path = parse.GetValue(dir)!;
            // An artifacts directory (glm-model.json): report how its weights are stored instead.
            if (File.Exists(Path.Combine(path, Glm.Onnx.Contracts.Manifest.ModelManifest.FileName)) && !parse.GetValue(json))
            {
                try
                {
                    Console.Out.Write(PrecisionText.Write(Glm.Onnx.Contracts.Manifest.ModelManifestJson.Load(path)));
                    return 0;
                }
                catch (InvalidDataException e)
                {
                    Console.Error.WriteLine($"error: {e.Message}");
                    return 2;
                }
            }
            InspectionReport report;
            try { report = CheckpointInspector.Inspect(path); }
            catch (DirectoryNotFoundException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 2;
            }
            Console.Out.Write(parse.GetValue(json) ? InspectionJson.Write(report) + "\n" : InspectionText.Write(report));
            return report.IsComplete ? 0 : 1;
        });
        return command;
    }
}
