namespace Glm.Onnx.Converter.Conversion;

/// <summary>
/// An exclusive lock on an output path, held as an open lock file beside it (<c>{path}.lock</c>; .NET takes an
/// flock on Linux for <see cref="FileShare.None"/>, so it holds across processes and dies with its holder). Two
/// conversions into one output once raced and one exited 0 with a stage file missing (issue #11): each now takes this
/// lock first. The lock file is left in place on release: deleting it would let a waiter and a newcomer lock two
/// different files of the same name.
/// </summary>
public sealed class OutputLock : IDisposable
{
    private readonly FileStream _file;

    private OutputLock(FileStream file, string path)
    {
        _file = file;
        LockPath = path;
    }

    public string LockPath { get; }

    /// <summary>The lock file of an output directory or file.</summary>
    public static string PathFor(string output, string suffix = ".lock") =>
        Path.TrimEndingDirectorySeparator(Path.GetFullPath(output)) + suffix;

    /// <summary>Takes the lock, or returns null at once when another holder has it.</summary>
    public static OutputLock? TryAcquire(string output, string suffix = ".lock")
    {
        var path = PathFor(output, suffix);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        try
        {
            return new OutputLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None), path);
        }
        catch (IOException) when (File.Exists(path))
        {
            return null; // held by another process (or another handle in this one)
        }
    }

    /// <summary>Takes the lock, waiting for another holder to finish (polling), up to <paramref name="timeout"/>.</summary>
    /// <exception cref="IOException">Still held after the timeout.</exception>
    public static OutputLock Acquire(string output, TimeSpan timeout, Action? onWait = null, string suffix = ".lock")
    {
        var deadline = DateTime.UtcNow + timeout;
        bool told = false;
        while (true)
        {
            if (TryAcquire(output, suffix) is { } held)
                return held;
            if (DateTime.UtcNow >= deadline)
                throw new IOException($"'{PathFor(output, suffix)}' is still locked by another process after {timeout.TotalSeconds:0} s");
            if (!told)
            {
                onWait?.Invoke();
                told = true;
            }

            Thread.Sleep(200);
        }
    }

    public void Dispose() => _file.Dispose();
}
