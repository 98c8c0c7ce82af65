using Glm.Onnx.Runtime.Text;

namespace Glm.Onnx.RunCli;

/// <summary>Runs a command body, turning expected failures (bad files, bad input) into one stderr line and exit code 1.</summary>
internal static class CliErrors
{
    /// <summary>
    /// Failures that get one "error: ..." line and exit code 2 from the model commands: bad arguments, files, artifacts,
    /// and a cache that does not fit in memory (the allocation reports what to lower). Anything else is a bug and
    /// keeps its stack trace.
    /// </summary>
    public static bool IsExpected(Exception e) =>
        e is ArgumentException or IOException or InvalidDataException or NotSupportedException or UnauthorizedAccessException
            or TokenizerFormatException or OutOfMemoryException;

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
