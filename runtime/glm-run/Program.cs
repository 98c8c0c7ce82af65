using System.CommandLine;

namespace Glm.Onnx.RunCli;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("glm-run: run converted GLM-5.x models on ONNX Runtime");
        root.Subcommands.Add(GenerateCommand.Create());
        root.Subcommands.Add(LogitsCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(TokenizeCommand.Create());
        root.Subcommands.Add(DetokenizeCommand.Create());
        root.Subcommands.Add(ChatCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(MaskbenchCommand.Create());
        // No response files: '@' is how --input-ids names a file of ids (PromptInput), which System.CommandLine would
        // otherwise expand into separate arguments before the command sees it.
        return root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null }).Invoke();
    }
}
