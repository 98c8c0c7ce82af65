using System.CommandLine;

namespace Glm.Onnx.ConvertCli;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("glm-convert: Hugging Face GLM-5.x checkpoints to ONNX artifacts");
        root.Subcommands.Add(InspectCommand.Create());
        root.Subcommands.Add(SynthCommand.Create());
        root.Subcommands.Add(ConvertCommand.Create());
        root.Subcommands.Add(VerifyCommand.Create());
        root.Subcommands.Add(KlCommand.Create());
        return root.Parse(args).Invoke();
    }
}
