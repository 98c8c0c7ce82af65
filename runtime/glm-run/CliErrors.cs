using Glm.Onnx.Runtime.Text;

namespace Glm.Onnx.RunCli;

/// <summary>Runs a command body, turning expected failures (bad files, bad input) into one stderr line and exit code 1.</summary>
internal static class CliErrors
{
    public static int Run(Action body)
    {
        try
        {
            body();
            return 0;
        }
        catch (Exception e) when (e is TokenizerFormatException or IOException or ArgumentException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
