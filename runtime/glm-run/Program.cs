using System.CommandLine;

namespace Glm.Onnx.RunCli;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("glm-run: run converted GLM-5.x models on ONNX Runtime");
        root.Subcommands.Add(TokenizeCommand.Create());
        root.Subcommands.Add(DetokenizeCommand.Create());
        return root.Parse(args).Invoke();
    }
}
